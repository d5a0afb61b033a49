"""Helpers of the API tests: a store with a settable clock, users, tokens, recorded incidents."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event

from reports.types import Severity
from storage.operator_store import OperatorStore
from storage.records import MediaRef
from storage.settings import StorageConfig
from storage.store import Store
from tests.storage.storage_workload import make_report, make_update
from vigil.api.settings import ApiConfig
from vigil.auth import hash_password, new_session_id, new_token, secret_hash
from vigil.config import VigilConfig

PASSWORD = "correct horse battery"
CAMERAS = ("cam-a", "cam-b")


class Clock:
    """A clock the test moves by hand (starts at the real time)."""

    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@dataclass
class World:
    """One database with cameras cam-a and cam-b, its operator store and the API config."""

    store: Store
    ops: OperatorStore
    config: VigilConfig
    media_dir: Path
    clock: Clock
    _n: list[int] = field(default_factory=lambda: [0])

    def record(
        self,
        incident_id: str | None = None,
        *,
        camera_id: str = "cam-a",
        severity: Severity | None = Severity.HIGH,
        **update: Any,
    ) -> str:
        """Record an opened incident (with a report of ``severity`` unless None)."""
        if incident_id is None:
            self._n[0] += 1
            incident_id = f"inc-{self._n[0]:05d}"
        u = make_update(incident_id, 1, camera_id=camera_id, **update)
        report = None
        if severity is not None:
            report = dataclasses.replace(make_report(incident_id, 1), severity=severity)
        assert self.store.record(u, report=report)
        return incident_id

    def add_media(self, incident_id: str, rel: str, data: bytes | None) -> int:
        """A media row at ``rel`` (written under media_dir unless ``data`` is None); its id."""
        if data is not None:
            path = self.media_dir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        ref = MediaRef(incident_id, "clip", rel, "video/mp4", self.clock(), len(data or b""))
        self.store.add_media(ref)
        ids = [i for i, m in self.ops.media_ids(incident_id) if m.path == rel]
        return ids[0]

    def user(self, name: str, role: str, cameras: list[str] | None = None) -> int:
        """Add a user with ``PASSWORD``; its id."""
        rec = self.ops.add_user(
            name=name, role=role, password_hash=hash_password(PASSWORD), cameras=cameras
        )
        return rec.id

    def session(self, user_id: int, ttl_s: float = 3600.0) -> str:
        """A session cookie value for a user (negative ttl: already expired)."""
        sid = new_session_id()
        self.ops.add_session(session_hash=secret_hash(sid), user_id=user_id, ttl_s=ttl_s)
        return sid

    def token(self, name: str, role: str, cameras: list[str] | None = None) -> str:
        """A new API token."""
        tok = new_token()
        self.ops.add_token(name=name, role=role, token_hash=secret_hash(tok), cameras=cameras)
        return tok


def open_world(db_url: str, tmp: Path, **api: Any) -> World:
    """A fresh world on ``db_url`` (``api``: ApiConfig overrides; escalation off by default)."""
    api.setdefault("escalate_after_s", {})
    media = tmp / "media"
    media.mkdir(parents=True, exist_ok=True)
    clock = Clock()
    store = Store.open(StorageConfig(database_url=db_url, media_dir=str(media)), clock=clock)
    for cam in CAMERAS:
        store.upsert_camera(
            camera_id=cam, name=f"Camera {cam}", location="dock", url_masked=f"rtsp://{cam}/s"
        )
    config = VigilConfig(api=ApiConfig(**api))
    return World(store, OperatorStore(store), config, media, clock)


def add_keyframe(
    w: World,
    incident_id: str,
    rel: str,
    *,
    kind: str = "keyframe:onset",
    size: tuple[int, int] = (320, 240),
) -> int:
    """A JPEG keyframe of ``size`` (width, height) written under media_dir and recorded; its id."""
    import cv2
    import numpy as np

    width, height = size
    image = np.zeros((height, width, 3), np.uint8)
    image[:, : width // 2] = (0, 0, 255)  # left half red (BGR), right half black
    ok, jpeg = cv2.imencode(".jpg", image)
    assert ok
    path = w.media_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jpeg.tobytes())
    ref = MediaRef(incident_id, kind, rel, "image/jpeg", w.clock(), path.stat().st_size)
    w.store.add_media(ref)
    return next(i for i, m in w.ops.media_ids(incident_id) if m.path == rel)


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of a token."""
    return {"Authorization": f"Bearer {token}"}


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: A moment for tests of filter times (aware, UTC).
T_FILTER = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@contextmanager
def counted(world: World) -> Iterator[list[str]]:
    """The SQL statements run on the world's engine inside the block."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(world.store.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(world.store.engine, "before_cursor_execute", count)
