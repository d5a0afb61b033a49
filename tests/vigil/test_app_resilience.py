"""The pipeline keeps incident updates that the database refuses and stores them later."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import pytest

from detectors.types import IncidentUpdate, UpdateKind
from engines.factory import build_scorer
from storage.journal import Journal
from storage.store import Store
from tests.support.fakes import FlakyScorer
from vigil.app import App
from vigil.config import CameraConfig, VigilConfig, parse_config


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
        assert app.recorder is not None
        # every update was accepted (journalled) while the database refused to store any
        assert app.recorder.backlog() >= len(seen) > 0, "updates should wait in the journal"
        assert app.recorder.stats.stored == 0
    finally:
        blocker.rollback()
        blocker.close()
    app.stop()  # stores what was kept, in order
    assert app.stats.lost == 0
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


def _config(
    tmp_path: Path, clip: Path, extra_cameras: str = "", *, busy_timeout_s: float = 0
) -> VigilConfig:
    """busy_timeout_s 0: a locked database refuses at once (the tests that lock it)."""
    return parse_config(
        f"""
storage:
  database_url: "sqlite:///{tmp_path / "vigil.db"}"
  media_dir: {tmp_path / "media"}
  sqlite_busy_timeout_s: {busy_timeout_s}
cameras:
  - {{id: cam, url: "{clip}", fps: 2}}
{extra_cameras}""",
        env={},
    )


def _stored_versions(cfg: VigilConfig) -> set[tuple[str, str, int]]:
    store = Store.open(cfg.storage, create_if_empty=False)
    try:
        return {
            (r.event_type, r.incident_id, u.version)
            for r in store.list_incidents()
            for u in (store.get_incident(r.incident_id) or _missing()).updates
        }
    finally:
        store.close()


def test_updates_unsaved_at_exit_stay_in_the_journal_and_are_replayed_at_next_start(
    tmp_path: Path, scene_clip: Callable[..., Path]
) -> None:
    cfg = _config(tmp_path, scene_clip("demo", 0))
    app = App(cfg, pace=False)
    app.stop_timeout_s = 1.0
    app.start()
    seen: list[tuple[str, int]] = []
    app.on_update(lambda u, r: seen.append((u.incident_id, u.version)))
    blocker = sqlite3.connect(tmp_path / "vigil.db", timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        app.run()
        app.stop()  # the database is still locked: the updates stay in the journal
    finally:
        blocker.rollback()
        blocker.close()
    assert len(seen) > 0 and app.stats.lost == 0
    assert _journal_backlog(tmp_path / "journal") >= len(seen)
    assert not (tmp_path / "unsaved-updates.jsonl").exists()  # nothing beside the media dir
    assert _stored_versions(cfg) == set()

    again = App(cfg.model_copy(update={"cameras": []}), pace=False)
    again.start()  # replays the journal
    again.stop()
    stored = _stored_versions(cfg)
    # exactly what was accepted: no update lost, none invented (the closes were journalled)
    assert {(i, v) for _, i, v in stored} == set(seen)
    assert sorted({t for t, _, _ in stored}) == ["fall", "fire"]
    assert _journal_backlog(tmp_path / "journal") == 0


def _journal_backlog(folder: Path) -> int:
    journal = Journal(folder)
    try:
        return len(journal.open().entries)
    finally:
        journal.close()


def test_a_failing_scorer_batch_costs_frames_not_the_process(
    tmp_path: Path, scene_clip: Callable[..., Path]
) -> None:
    cfg = _config(tmp_path, scene_clip("demo", 0), busy_timeout_s=10)
    scorer = FlakyScorer(build_scorer(cfg.model), fail_on=(5, 6, 7))
    app = App(cfg, pace=False, scorer=scorer)
    app.start()
    stats = app.run()
    app.stop()
    assert stats.scorer_errors > 0
    # the pipeline went on after the failing batches and still found and stored both events
    assert {t for t, _, _ in _stored_versions(cfg)} == {"fall", "fire"}


def test_cameras_added_and_removed_while_running(
    tmp_path: Path, scene_clip: Callable[..., Path]
) -> None:
    clip = scene_clip("demo", 0)
    cfg = _config(tmp_path, clip, busy_timeout_s=10)
    app = App(cfg, pace=False)
    app.start()
    opened = threading.Event()
    closed: list[str] = []

    def watch(u: IncidentUpdate, r: object) -> None:
        if u.camera_id == "cam2" and u.kind is UpdateKind.OPEN:
            opened.set()
        if u.kind is UpdateKind.CLOSE:
            closed.append(f"{u.camera_id}:{u.close_reason}")

    app.on_update(watch)
    cam2 = CameraConfig(id="cam2", url=str(clip), fps=2)
    with pytest.raises(ValueError, match="already watched"):
        app.add_camera(cfg.cameras[0])

    def operator() -> None:
        app.add_camera(cam2)
        assert opened.wait(120)
        app.remove_camera("cam2")

    t = threading.Thread(target=operator)
    t.start()
    app.run()
    t.join(60)
    app.stop()
    assert "cam2:camera_removed" in closed
    assert closed.count("cam:stream_ended") == 2  # the fall and the fire of the first camera


class _GatedClips:
    """Real clip encoding that first waits for a gate (a slow disk or a busy CPU)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, hold_s: float) -> None:
        from storage.media import MediaStore

        self.gate = threading.Event()
        self.encoded = 0
        self.started = threading.Event()
        # both ways a clip is made: from the camera's packets, and from the sampled frames
        for name in ("save_clip", "save_packet_clip"):
            monkeypatch.setattr(MediaStore, name, self._gated(getattr(MediaStore, name), hold_s))

    def _gated(self, original: Callable[..., object], hold_s: float) -> Callable[..., object]:
        def gated(media: object, *args: object, **kwargs: object) -> object:
            self.started.set()
            self.gate.wait(hold_s)
            ref = original(media, *args, **kwargs)
            self.encoded += 1
            return ref

        return gated


def _close_payloads(db: Path) -> list[dict[str, object]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT payload FROM outbox ORDER BY id").fetchall()
    payloads = [json.loads(p) for (p,) in rows]
    return [p for p in payloads if p.get("update_kind") == "close"]


def test_clip_encoding_does_not_hold_up_detection_and_the_close_carries_the_clip(
    tmp_path: Path, scene_clip: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    clips = _GatedClips(monkeypatch, hold_s=60)
    cfg = _config(tmp_path, scene_clip("demo", 0), busy_timeout_s=10)
    app = App(cfg, pace=False)
    app.start()
    closes: list[IncidentUpdate] = []
    app.on_update(lambda u, r: closes.append(u) if u.kind is UpdateKind.CLOSE else None)
    try:
        stats = app.run()  # the whole clip is analysed while no clip can be encoded
        assert clips.started.is_set() and clips.encoded == 0
        assert stats.opened == 2 and stats.closed == 2  # the fall and the fire, both detected
        assert closes == []  # a close is told only once it has its clip and is journalled
        clips.gate.set()
    finally:
        clips.gate.set()
        app.stop()
    assert sorted(u.event_type for u in closes) == ["fall", "fire"]
    payloads = _close_payloads(tmp_path / "vigil.db")
    assert len(payloads) == 2
    for p in payloads:
        kinds = [m["kind"] for m in p["media"]]  # type: ignore[index, union-attr]
        assert "clip" in kinds, p["media"]


def test_a_clip_stuck_at_stop_does_not_hold_the_close_back(
    tmp_path: Path, scene_clip: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    clips = _GatedClips(monkeypatch, hold_s=30)
    cfg = _config(tmp_path, scene_clip("demo", 0), busy_timeout_s=10)
    app = App(cfg, pace=False)
    app.start()
    try:
        app.run()
        app.stop()  # bounded: gives up on the clips, accepts the closes without them
        assert app.stats.lost == 0
        assert clips.encoded == 0
        rows = _stored_versions(cfg)
        assert len({i for _, i, _ in rows}) == 2
        store = Store.open(cfg.storage, create_if_empty=False)
        try:
            assert all(not r.is_open for r in store.list_incidents())
        finally:
            store.close()
    finally:
        clips.gate.set()
