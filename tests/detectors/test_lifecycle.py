"""Incident lifecycle with a controllable clock: hysteresis, min duration, merge, cooldown."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import pytest

from detectors.lifecycle import CameraDetector, EventTracker
from detectors.settings import EventConfig, ResolvedEventConfig, ZoneConfig
from detectors.types import IncidentUpdate, UpdateKind
from engines.types import Scores


def rule(**kw: float) -> ResolvedEventConfig:
    base: dict[str, float] = dict(
        threshold=0.6,
        hysteresis=0.2,
        min_duration_s=1.0,
        cooldown_s=10.0,
        merge_gap_s=2.0,
        update_interval_s=100.0,
    )
    base.update(kw)
    return ResolvedEventConfig(**base)  # type: ignore[arg-type]


def ids() -> Iterable[str]:
    return (f"inc{i}" for i in itertools.count(1))


def feed(tracker: EventTracker, series: list[tuple[float, float]]) -> list[IncidentUpdate]:
    out: list[IncidentUpdate] = []
    for ts, score in series:
        out.extend(tracker.update(ts, score, pts_s=ts))
    return out


def at(step: float, scores: list[float], start: float = 0.0) -> list[tuple[float, float]]:
    return [(start + i * step, s) for i, s in enumerate(scores)]


def tracker(**kw: float) -> EventTracker:
    gen = iter(ids())
    return EventTracker("cam", "fall", rule(**kw), id_factory=lambda: next(gen))


def kinds(updates: list[IncidentUpdate]) -> list[str]:
    return [u.kind.value for u in updates]


def test_opens_after_min_duration_with_onset_time() -> None:
    t = tracker()
    ups = feed(t, at(0.5, [0.1, 0.7, 0.7, 0.7, 0.7]))
    assert kinds(ups) == ["open"]
    (op,) = ups
    assert op.opened_ts_s == 0.5  # onset, not the moment min_duration was reached
    assert op.ts_s == 1.5
    assert op.incident_id == "inc1" and op.version == 1


def test_short_spike_below_min_duration_raises_nothing() -> None:
    t = tracker()
    assert feed(t, at(0.5, [0.9, 0.9, 0.1, 0.1, 0.9, 0.1])) == []
    assert t.state == "idle"


def test_hysteresis_keeps_incident_open_between_thresholds() -> None:
    t = tracker()
    # 0.45 is below the threshold (0.6) but above threshold - hysteresis (0.4)
    ups = feed(t, at(0.5, [0.7, 0.7, 0.7, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45]))
    assert kinds(ups) == ["open"]
    assert t.state == "active"


def test_closes_after_merge_gap_with_time_it_fell() -> None:
    t = tracker()
    ups = feed(t, at(0.5, [0.7, 0.7, 0.7, 0.7, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2]))
    assert kinds(ups) == ["open", "close"]
    close = ups[-1]
    assert close.closed_ts_s == 2.0
    assert close.close_reason == "score_dropped"
    assert close.version == 2
    assert close.peak_score == 0.7
    assert close.duration_s == pytest.approx(2.0)


def test_merge_gap_continues_the_same_incident() -> None:
    t = tracker(merge_gap_s=3.0)
    series = at(0.5, [0.8] * 4 + [0.1] * 3 + [0.8] * 3 + [0.1] * 8)
    ups = feed(t, series)
    assert kinds(ups) == ["open", "close"]
    assert {u.incident_id for u in ups} == {"inc1"}
    assert ups[-1].closed_ts_s == 5.0  # the second drop, not the first


def test_cooldown_suppresses_a_new_incident_then_allows_one() -> None:
    t = tracker(cooldown_s=10.0, merge_gap_s=1.0)
    first = feed(t, at(0.5, [0.8] * 4 + [0.1] * 3))
    assert kinds(first) == ["open", "close"]
    closed_at = first[-1].closed_ts_s
    assert closed_at is not None
    # within the cooldown: a strong signal raises nothing
    assert feed(t, at(0.5, [0.9] * 6, start=closed_at + 2)) == []
    # the cooldown ends with the signal still present: a new incident
    later = feed(t, at(0.5, [0.1, 0.9, 0.9, 0.9, 0.9], start=closed_at + 11))
    assert kinds(later) == ["open"]
    assert later[0].incident_id == "inc2"


def test_periodic_update_and_peak_update() -> None:
    t = tracker(update_interval_s=2.0)
    ups = feed(t, at(0.5, [0.61] * 3 + [0.62] * 5 + [0.95]))
    assert kinds(ups) == ["open", "update", "update"]
    assert [u.version for u in ups] == [1, 2, 3]
    assert ups[-1].peak_score == 0.95


def test_max_duration_closes() -> None:
    t = tracker(max_duration_s=5.0, cooldown_s=0.0)
    ups = feed(t, at(1.0, [0.9] * 8))
    assert kinds(ups)[:2] == ["open", "close"]
    assert ups[1].close_reason == "max_duration"


def test_finish_closes_open_incident_and_drops_pending() -> None:
    t = tracker()
    feed(t, at(0.5, [0.9] * 4))
    ups = t.finish(10.0, "stream_ended")
    assert kinds(ups) == ["close"] and ups[0].close_reason == "stream_ended"
    assert t.finish(11.0, "again") == []
    t2 = tracker()
    feed(t2, at(0.5, [0.9]))
    assert t2.finish(1.0, "x") == [] and t2.state == "idle"


def test_tick_closes_without_new_scores() -> None:
    t = tracker(merge_gap_s=2.0)
    feed(t, at(0.5, [0.9] * 4 + [0.1]))
    assert t.tick(2.5) == []
    (close,) = t.tick(4.1)
    assert close.kind is UpdateKind.CLOSE and close.closed_ts_s == 2.0


def test_timeline_and_cues_travel_with_updates() -> None:
    t = tracker()
    ups: list[IncidentUpdate] = []
    for i, s in enumerate([0.7, 0.8, 0.9, 0.9]):
        ups += t.update(i * 0.5, s, cues={"fall_still_s": float(i), "fire_flicker": 1.0})
    (op,) = ups
    assert op.cues == {"fall_still_s": 2.0}  # only this event's cues
    assert [p.score for p in op.timeline] == [0.7, 0.9]  # one point per second
    assert op.mean_score == pytest.approx(0.8)


def scores(ts: float, fall: float, box: tuple[float, float, float, float] | None = None) -> Scores:
    return Scores(
        camera_id="cam",
        seq=int(ts * 2),
        pts_s=ts,
        ts_s=1000 + ts,
        events={"fall": fall, "fire": 0.0},
        regions={"fall": box} if box else {},
    )


def run_detector(
    det: CameraDetector, box: tuple[float, float, float, float] | None
) -> list[IncidentUpdate]:
    out: list[IncidentUpdate] = []
    for i in range(8):
        out += det.update(scores(i * 0.5, 0.9, box))
    return out


def zones_detector(zones: list[ZoneConfig]) -> CameraDetector:
    rules = {"fall": EventConfig().resolved("fall"), "fire": EventConfig().resolved("fire")}
    return CameraDetector("cam", rules, zones)


INSIDE = (0.2, 0.2, 0.3, 0.4)  # bottom centre (0.25, 0.4)
OUTSIDE = (0.7, 0.6, 0.8, 0.9)
SQUARE = [(0.1, 0.1), (0.5, 0.1), (0.5, 0.5), (0.1, 0.5)]


def test_zone_restricting_event() -> None:
    det = zones_detector([ZoneConfig(name="aisle", polygon=SQUARE, events=["fall"])])
    ups = run_detector(det, INSIDE)
    assert kinds(ups) == ["open"] and ups[0].zone == "aisle"
    det = zones_detector([ZoneConfig(name="aisle", polygon=SQUARE, events=["fall"])])
    assert run_detector(det, OUTSIDE) == []


def test_mask_zone_ignores_detections_inside() -> None:
    det = zones_detector([ZoneConfig(name="tv", polygon=SQUARE, mask=True)])
    assert run_detector(det, INSIDE) == []
    det = zones_detector([ZoneConfig(name="tv", polygon=SQUARE, mask=True)])
    assert kinds(run_detector(det, OUTSIDE)) == ["open"]


def test_label_zone_names_but_does_not_restrict() -> None:
    det = zones_detector([ZoneConfig(name="dock", polygon=SQUARE)])
    assert run_detector(det, INSIDE)[0].zone == "dock"
    det = zones_detector([ZoneConfig(name="dock", polygon=SQUARE)])
    ups = run_detector(det, OUTSIDE)
    assert kinds(ups) == ["open"] and ups[0].zone is None


def test_scores_of_another_camera_are_refused() -> None:
    det = zones_detector([])
    bad = Scores(camera_id="other", seq=0, pts_s=0, ts_s=0, events={"fall": 0.9})
    with pytest.raises(ValueError, match="other"):
        det.update(bad)


def test_updates_carry_where_the_event_was_last_seen() -> None:
    det = zones_detector([])
    ups = run_detector(det, INSIDE)
    assert kinds(ups) == ["open"] and ups[0].region == INSIDE
    moved = det.update(scores(4.0, 0.9, OUTSIDE)) + det.finish(1010.0, "test")
    assert moved[-1].kind is UpdateKind.CLOSE and moved[-1].region == OUTSIDE
    assert run_detector(zones_detector([]), None)[0].region is None  # the scorer said nowhere
