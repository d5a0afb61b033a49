"""The pipeline keeps incident updates that the database refuses and stores them later."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from storage.store import Store
from vigil.app import App
from vigil.config import parse_config


def test_locked_database_loses_no_incident_update(
    tmp_path: Path, scene_clip: Callable[..., Path]
) -> None:
    clip = scene_clip("demo", 0)
    db = tmp_path / "vigil.db"
    cfg = parse_config(
        f"""
storage:
  database_url: "sqlite:///{db}"
  media_dir: {tmp_path / "media"}
  sqlite_busy_timeout_s: 0
cameras:
  - {{id: cam, url: "{clip}", fps: 2}}
""",
        env={},
    )
    app = App(cfg, pace=False)
    app.start()
    seen: list[tuple[str, int]] = []
    app.on_update(lambda u, r: seen.append((u.incident_id, u.version)))
    blocker = sqlite3.connect(db, timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")  # another writer holds the database
    try:
        app.run()
        assert app._unsaved, "updates should be waiting while the database is locked"
        kept = len(app._unsaved)
    finally:
        blocker.rollback()
        blocker.close()
    app.stop()  # retries what was kept, in order
    assert kept == len(seen)
    store = Store.open(cfg.storage, create_if_empty=False)
    try:
        rows = store.list_incidents()
        assert sorted(r.event_type for r in rows) == ["fall", "fire"]
        stored = {
            (r.incident_id, u.version)
            for r in rows
            for u in (store.get_incident(r.incident_id) or _missing()).updates
        }
        assert stored == set(seen)
        assert all(not r.is_open for r in rows)
    finally:
        store.close()


def _missing() -> NoReturn:
    raise AssertionError("incident vanished")
