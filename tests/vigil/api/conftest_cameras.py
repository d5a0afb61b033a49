"""Fixtures of the metrics and runtime-camera tests: a running App with its API in-process.

Imported explicitly by ``test_metrics.py`` and ``test_cameras_runtime.py`` (not a conftest, so
other API tests are not touched).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from storage.operator_store import OperatorStore
from tests.streamer.streamer_testutil import APT_LINE, RtspServer, gst_rtsp_available
from tests.support.wait import wait_until
from vigil.api.app import create_app
from vigil.app import App
from vigil.auth import new_token, secret_hash
from vigil.config import VigilConfig, parse_config

#: Password of the test RTSP server, given to Vigil only through this environment variable.
CAM_PASSWORD = "s3cret-Dock-pass"
CAM_PASSWORD_VAR = "VIGIL_TEST_CAM_PASSWORD"


def vigil_config(tmp_path: Path, cameras_yaml: str = "[]") -> VigilConfig:
    """A config on a SQLite database in ``tmp_path`` with ``cameras_yaml`` as its cameras.

    ``${VAR}`` in it come from this process's environment.
    """
    return parse_config(
        f"""
storage:
  database_url: "sqlite:///{tmp_path / "vigil.db"}"
  media_dir: {tmp_path / "media"}
  journal_dir: {tmp_path / "journal"}
cameras: {cameras_yaml}
""",
        env=dict(os.environ),
    )


@dataclass
class Running:
    """One started App, its API client and a token per role."""

    app: App
    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)
    thread: threading.Thread | None = None

    def auth(self, role: str) -> dict[str, str]:
        """The Authorization header of ``role``'s token."""
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def stop(self) -> None:
        """Stop the run loop and the App (threads joined)."""
        self.client.close()
        self.app.request_stop()
        if self.thread is not None:
            self.thread.join(15)
            assert not self.thread.is_alive(), "the run loop did not stop"
        self.app.stop()


def add_tokens(ops: OperatorStore, scoped: tuple[str, ...] = ("nowhere",)) -> dict[str, str]:
    """A token per role, plus ``scoped``: an admin who sees only the cameras ``scoped``."""
    tokens = {}
    for role in ("viewer", "operator", "admin"):
        tokens[role] = new_token()
        ops.add_token(name=role, role=role, token_hash=secret_hash(tokens[role]), cameras=None)
    tokens["scoped"] = new_token()
    ops.add_token(
        name="scoped", role="admin", token_hash=secret_hash(tokens["scoped"]), cameras=scoped
    )
    return tokens


def start_app(cfg: VigilConfig, tmp_path: Path, *, tokens: bool = True) -> Running:
    """Start an App on ``cfg``, run its loop on a thread and serve its API to a test client."""
    app = App(cfg)
    app.start()
    assert app.store is not None
    ops = OperatorStore(app.store)
    client = TestClient(create_app(ops, cfg, media_dir=tmp_path / "media", pipeline=app))
    running = Running(app, client)
    try:
        running.tokens = add_tokens(ops) if tokens else {}
        running.thread = threading.Thread(target=app.run, name="test-run", daemon=True)
        running.thread.start()
    except BaseException:
        running.stop()
        raise
    return running


@pytest.fixture
def apps(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """Start Apps (``start_app``); every one still running is stopped at teardown."""
    made: list[Running] = []

    def make(cfg: VigilConfig, *, tokens: bool = True) -> Running:
        made.append(start_app(cfg, tmp_path, tokens=tokens))
        return made[-1]

    yield make
    for running in made:
        if running.app.running:
            running.stop()


@pytest.fixture
def rtsp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RtspServer]:
    """A live RTSP server whose mounts need ``viewer:CAM_PASSWORD``; its password in the env."""
    if not gst_rtsp_available():
        pytest.skip(f"GStreamer RTSP server not installed for /usr/bin/python3: {APT_LINE}")
    from tests.streamer.streamer_testutil import live_launch

    monkeypatch.setenv(CAM_PASSWORD_VAR, CAM_PASSWORD)
    server = RtspServer(
        {"/live": live_launch(), "/other": live_launch(width=160, height=120)},
        shared=("/live", "/other"),
        auth=f"viewer:{CAM_PASSWORD}",
        log_path=tmp_path / "rtsp.log",
    )
    server.start()
    try:
        yield server
    finally:
        server.close()


def ref_url(server: RtspServer, path: str = "/live") -> str:
    """The camera URL as an admin gives it: the password as ``${VAR}``."""
    return server.url(path, "viewer", "${" + CAM_PASSWORD_VAR + "}")


def wait_frame(app: App, camera_id: str, timeout_s: float = 30.0) -> None:
    """Wait until the pipeline processed a frame of ``camera_id``."""
    wait_until(
        lambda: app.latest_frame(camera_id) is not None,
        timeout_s=timeout_s,
        what=f"a frame of {camera_id}",
    )
