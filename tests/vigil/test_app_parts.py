"""The App's seams: injected scorer, store and clock; lanes with their state; subscriptions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from detectors.lifecycle import CameraDetector
from detectors.types import IncidentUpdate, UpdateKind
from engines.factory import build_scorer
from reports.types import Report
from storage.store import Store
from streamer.clock import ManualClock
from streamer.types import Frame
from streamer.window import WindowBuffer
from tests.support.fakes import FlakyScorer
from vigil.app import App
from vigil.config import CameraConfig, parse_config
from vigil.incidents import Listeners
from vigil.lanes import CameraLane


def test_listeners_unsubscribe_and_a_failing_one_does_not_silence_the_rest() -> None:
    listeners = Listeners()
    heard: list[str] = []

    def boom(upd: IncidentUpdate, report: Report | None) -> None:
        raise RuntimeError("listener bug")

    listeners.subscribe(boom)
    stop = listeners.subscribe(lambda u, r: heard.append(u.incident_id))
    upd = _update()
    listeners.notify(upd, None)
    stop()
    listeners.notify(upd, None)
    assert heard == [upd.incident_id]


def test_a_lane_keeps_its_camera_clock_from_its_newest_frame() -> None:
    cam = CameraConfig(id="cam", url="file.mp4")
    lane = CameraLane(cam, WindowBuffer("cam", 8.0), CameraDetector("cam", {}))
    clock = ManualClock(wall_s=1000.0, monotonic_s=50.0)
    assert lane.clock_s(clock.monotonic()) is None
    lane.push(_frame(ts_s=900.0, pts_s=3.0), clock.monotonic())
    clock.advance(2.5)
    assert lane.clock_s(clock.monotonic()) == 902.5  # stream time plus the time since
    state = lane.state(None)
    assert (state.camera_id, state.last_pts_s, state.open_incidents) == ("cam", 3.0, ())


def test_injected_parts_are_used_and_left_open(
    tmp_path: Path, scene_clip: Callable[..., Path]
) -> None:
    clip = scene_clip("demo", 0)
    cfg = parse_config(
        f"""
storage:
  database_url: "sqlite:///{tmp_path / "vigil.db"}"
  media_dir: {tmp_path / "media"}
cameras:
  - {{id: cam, name: Dock, url: "{clip}", fps: 2}}
""",
        env={},
    )
    store = Store.open(cfg.storage)
    scorer = FlakyScorer(build_scorer(cfg.model), fail_on=())
    app = App(cfg, pace=False, scorer=scorer, store=store, clock=ManualClock(1e9, 0.0))
    heard: list[str] = []
    unsubscribe = app.subscribe(lambda u, r: heard.append(u.kind.value))
    app.start()
    try:
        assert [(s.camera_id, s.name) for s in app.lanes()] == [("cam", "Dock")]
        app.run()
        (lane,) = app.lanes()
        assert lane.last_pts_s is not None and lane.last_pts_s > 20
        assert lane.open_incidents == ()  # the stream ended: every incident closed
    finally:
        app.stop()
    unsubscribe()
    assert scorer.calls > 0, "the injected scorer scored"
    assert "open" in heard and "close" in heard
    # the injected store is the caller's: still open after stop, holding what was found
    assert {r.event_type for r in store.list_incidents()} == {"fall", "fire"}
    store.close()


def _frame(*, ts_s: float, pts_s: float) -> Frame:
    return Frame(
        camera_id="cam", image=np.zeros((8, 8, 3), np.uint8), ts_s=ts_s, pts_s=pts_s, seq=0
    )


def _update() -> IncidentUpdate:
    return IncidentUpdate(
        incident_id="inc-1",
        version=1,
        kind=UpdateKind.OPEN,
        camera_id="cam",
        event_type="fall",
        ts_s=1.0,
        opened_ts_s=1.0,
        closed_ts_s=None,
        score=0.9,
        peak_score=0.9,
        mean_score=0.9,
    )
