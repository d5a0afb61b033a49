"""Helpers shared by the streamer tests."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from streamer.queue import FrameQueue
from streamer.supervisor import Supervisor
from streamer.types import Frame


def drain(
    sup: Supervisor,
    queue: FrameQueue,
    *,
    until: Callable[[list[Frame]], bool] | None = None,
    timeout_s: float = 30.0,
) -> list[Frame]:
    """Take frames until every source ended (or ``until`` holds); fails on timeout."""
    out: list[Frame] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        out += queue.get_batch(16, 0.1)
        if until is not None and until(out):
            return out
        if until is None and sup.ended() and not queue.pending():
            return out
    raise AssertionError(f"timed out after {timeout_s}s; statuses: {sup.statuses()}")


def wait_for(cond: Callable[[], bool], timeout_s: float = 30.0, what: str = "condition") -> None:
    """Poll ``cond`` until it holds; fails after ``timeout_s`` (a guard against hangs only)."""
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s}s")
        time.sleep(0.02)


# -- a real RTSP server (GStreamer) in a /usr/bin/python3 subprocess --------------------------

SYSTEM_PYTHON = "/usr/bin/python3"
SERVER_SCRIPT = Path(__file__).with_name("rtsp_server.py")
APT_LINE = (
    "apt-get install -y --no-install-recommends python3-gi gir1.2-gst-rtsp-server-1.0 "
    "gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad "
    "gstreamer1.0-plugins-ugly"
)


def gst_rtsp_available() -> bool:
    """True if the system Python can import gst-rtsp-server's bindings."""
    probe = (
        "import gi; gi.require_version('GstRtspServer', '1.0'); "
        "from gi.repository import GstRtspServer"
    )
    try:
        return (
            subprocess.run(
                [SYSTEM_PYTHON, "-c", probe], capture_output=True, timeout=30, check=False
            ).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def live_launch(
    width: int = 320, height: int = 240, fps: int = 25, gop: int = 25, bframes: int = 0
) -> str:
    """An endless live H.264 source (moving ball); ``bframes`` > 0: with B-frames."""
    enc = (
        f"x264enc speed-preset=ultrafast bframes={bframes} b-adapt=false key-int-max={gop}"
        if bframes
        else f"x264enc tune=zerolatency speed-preset=ultrafast key-int-max={gop}"
    )
    return (
        f"videotestsrc is-live=true pattern=ball ! "
        f"video/x-raw,width={width},height={height},framerate={fps}/1 ! "
        f"{enc} ! "
        "h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96"
    )


def file_launch(path: Path) -> str:
    """An H.264 mp4 served as is (each client gets its own pipeline, from frame 0)."""
    return (
        f"filesrc location={path} ! qtdemux ! h264parse config-interval=-1 ! "
        "rtph264pay name=pay0 pt=96"
    )


class RtspServer:
    """gst-rtsp-server on 127.0.0.1 that tests can kill, restart on the same port and hang."""

    def __init__(
        self,
        mounts: dict[str, str],
        *,
        shared: tuple[str, ...] = (),
        auth: str | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.mounts, self.shared, self.auth = mounts, shared, auth
        self.log_path = log_path
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.paused = False

    def start(self, port: int | None = None, timeout_s: float = 20.0) -> RtspServer:
        """Start (on ``port``, or the last one, or a free one) and wait for the ready line."""
        port = self.port if port is None else port
        cmd = [SYSTEM_PYTHON, str(SERVER_SCRIPT), "--port", str(port)]
        for path, launch in self.mounts.items():
            cmd += ["--mount", f"{path}={launch}"]
        for path in self.shared:
            cmd += ["--shared", path]
        if self.auth:
            cmd += ["--auth", self.auth]
        deadline = time.monotonic() + timeout_s
        while True:
            err = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err)
            if err is not subprocess.DEVNULL:
                err.close()  # type: ignore[union-attr]
            line = self._read_line(deadline)
            if line.startswith("READY port="):
                self.port = int(line.split("=", 1)[1])
                return self
            self.proc.wait(5)
            if time.monotonic() > deadline:  # e.g. the port stays busy
                raise RuntimeError(f"RTSP server did not start: {line!r}")
            time.sleep(0.2)

    def _read_line(self, deadline: float) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        buf = b""
        while not buf.endswith(b"\n") and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            chunk = os.read(fd, 1)
            if not chunk:
                break
            buf += chunk
        return buf.decode(errors="replace").strip()

    def url(self, path: str, user: str | None = None, password: str | None = None) -> str:
        """``rtsp://[user:password@]127.0.0.1:PORT/path``."""
        cred = f"{user}:{password}@" if user is not None else ""
        return f"rtsp://{cred}127.0.0.1:{self.port}{path}"

    def kill(self) -> None:
        """SIGKILL the server (connections drop at once)."""
        if self.proc is not None:
            if self.paused:
                self.resume()
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def pause(self) -> None:
        """SIGSTOP: sockets stay open, nothing is sent (a hung server)."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        """SIGCONT after :meth:`pause`."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)
        self.paused = False

    def close(self) -> None:
        """Stop the server for good."""
        if self.proc is None:
            return
        if self.paused:
            self.resume()
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None
