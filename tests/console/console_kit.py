"""The served side of the console tests: a running ``App`` (the pipeline, in-process) with its
``ApiServer`` (real uvicorn) on SQLite, a user per role, and the real RTSP test server.

The App always watches one live RTSP camera (``yard``), so its run loop keeps going when a file
camera (the generated demo scene, played as fast as it decodes) has ended. A file camera that
ended while others run leaves its incidents open on camera; the operators' workflow is apart.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storage.operator_store import OperatorStore
from tests.streamer.streamer_testutil import RtspServer
from tests.support.wait import wait_until
from vigil.api.server import ApiServer
from vigil.app import App
from vigil.auth import hash_password
from vigil.config import CameraConfig, VigilConfig, parse_config

PASSWORD = "correct horse battery"
ROLES = ("viewer", "operator", "admin")
#: The always-on live camera's id and the scene camera's.
YARD = "yard"
SCENE = "aisle-3"


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stack_config(tmp: Path, yard_url: str) -> VigilConfig:
    """SQLite under ``tmp``, the API on a free port (no escalations), the live ``yard`` camera
    (the test pattern's moving ball: no event)."""
    return parse_config(
        f"""
site: console-test
timezone: Europe/Berlin
storage:
  database_url: "sqlite:///{tmp / "vigil.db"}"
  media_dir: {tmp / "media"}
  journal_dir: {tmp / "journal"}
api:
  bind: "127.0.0.1:{free_port()}"
  escalate_after_s: {{}}
cameras:
  - {{id: {YARD}, name: Yard, location: north gate, url: "{yard_url}", fps: 2}}
""",
        env=dict(os.environ),
    )


@dataclass
class Stack:
    """One running App, its API server and a user per role (all with ``PASSWORD``)."""

    app: App
    server: ApiServer
    ops: OperatorStore
    rtsp: RtspServer
    thread: threading.Thread
    users: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        """Where the console answers (``http://127.0.0.1:PORT``)."""
        return f"http://127.0.0.1:{self.server.config.api.port}"

    def url(self, path: str) -> str:
        """The absolute URL of ``path``."""
        return self.base_url + path

    def add_scene(self, clip: Path, camera_id: str = SCENE) -> None:
        """Start watching the generated scene as a file camera (a fall at 20.7 s, then fire)."""
        self.app.add_camera(
            CameraConfig(id=camera_id, name="Aisle 3", location="warehouse", url=str(clip), fps=2)
        )

    def incidents(self, camera_id: str = SCENE) -> list[Any]:
        """The incidents recorded of ``camera_id``, newest first."""
        assert self.app.store is not None
        return [r for r in self.app.store.list_incidents(limit=100) if r.camera_id == camera_id]

    def wait_incident(self, event_type: str, camera_id: str = SCENE) -> str:
        """The id of the first incident of ``event_type`` on ``camera_id`` (waits for it)."""

        def found() -> str | None:
            rows = [r for r in self.incidents(camera_id) if r.event_type == event_type]
            return rows[-1].incident_id if rows else None

        return wait_until(found, timeout_s=60, what=f"a {event_type} incident on {camera_id}")

    def stop(self) -> None:
        """Stop the API, the run loop and the App."""
        self.server.stop()
        self.app.request_stop()
        if self.thread.is_alive():
            self.thread.join(15)
        self.app.stop()


def start_stack(tmp: Path, rtsp: RtspServer) -> Stack:
    """Start the App on the live ``yard`` camera, its API and the run loop; add the users."""
    cfg = stack_config(tmp, rtsp.url("/live"))
    app = App(cfg, pace=False)
    app.start()
    assert app.store is not None
    ops = OperatorStore(app.store)
    server = ApiServer(ops, cfg, media_dir=Path(cfg.storage.media_dir), pipeline=app)
    thread = threading.Thread(target=app.run, name="console-run", daemon=True)
    stack = Stack(app, server, ops, rtsp, thread)
    try:
        server.start()
        thread.start()
        for role in ROLES:
            name = f"{role}-1"
            ops.add_user(name=name, role=role, password_hash=hash_password(PASSWORD), cameras=None)
            stack.users[role] = name
    except BaseException:
        stack.stop()
        raise
    return stack


def api_login(context: Any, stack: Stack, role: str) -> None:
    """Log ``context`` in as ``role`` through the API (its session cookie lands in the
    context); the login form itself is tested in its own test."""
    r = context.request.post(
        stack.url("/api/auth/login"),
        data={"username": stack.users[role], "password": PASSWORD},
    )
    assert r.ok, f"login as {role}: {r.status} {r.text()}"


def incident(context: Any, stack: Stack, incident_id: str) -> dict[str, Any]:
    """``GET /api/incidents/{id}`` as ``context``'s user sees it."""
    r = context.request.get(stack.url(f"/api/incidents/{incident_id}"))
    assert r.ok, f"GET incident {incident_id}: {r.status} {r.text()}"
    found: dict[str, Any] = r.json()
    return found
