"""A real RTSP server for tests (GStreamer's gst-rtsp-server); run it with /usr/bin/python3.

    /usr/bin/python3 rtsp_server.py --port 0 \
        --mount "/live=videotestsrc is-live=true ! x264enc ! rtph264pay name=pay0 pt=96" \
        [--shared /live] [--auth user:password]

Prints ``READY port=N`` once it listens (port 0 picks a free port); SIGTERM/SIGINT stop it.
Mounts not listed in ``--shared`` give each client its own pipeline (a file plays from frame 0).
"""

from __future__ import annotations

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> int:
    """Run the server until a signal arrives."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--mount", action="append", default=[], help="PATH=LAUNCH")
    parser.add_argument("--shared", action="append", default=[], help="PATH shared by clients")
    parser.add_argument("--auth", default=None, help="USER:PASSWORD required for every mount")
    args = parser.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    for spec in args.mount:
        path, launch = spec.split("=", 1)
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch if launch.startswith("(") else f"( {launch} )")
        factory.set_shared(path in args.shared)
        if args.auth:
            perms = GstRtspServer.RTSPPermissions()
            perms.add_permission_for_role("viewer", "media.factory.access", True)
            perms.add_permission_for_role("viewer", "media.factory.construct", True)
            factory.set_permissions(perms)
        mounts.add_factory(path, factory)
    if args.auth:
        user, password = args.auth.split(":", 1)
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "viewer")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
        server.set_auth(auth)

    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        print(f"ERROR cannot listen on port {args.port}", flush=True)
        return 1
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_HIGH, sig, loop.quit)
    print(f"READY port={server.get_bound_port()}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
