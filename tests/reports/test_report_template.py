"""Evidence bundle, template report and severity rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from detectors.types import IncidentUpdate, ScorePoint, UpdateKind
from reports.evidence import CameraInfo, Evidence, brief_timeline, build_evidence, cue_phrases
from reports.settings import SeverityConfig
from reports.severity import severity_for
from reports.template import template_report
from reports.types import Severity

Factory = Callable[..., Evidence]


def test_evidence_carries_the_incident_facts(evidence_factory: Factory) -> None:
    ev = evidence_factory()
    assert ev.camera.name == "Loading Dock 1"
    assert (ev.site, ev.timezone, ev.zone, ev.event_type) == (
        "warehouse-7",
        "Europe/Berlin",
        "restricted",
        "fall",
    )
    assert ev.status == "closed" and not ev.ongoing
    assert ev.duration_s == pytest.approx(14.0)
    assert (ev.peak_score, ev.mean_score) == (0.87, 0.74)
    assert ev.opened_iso == "2026-11-25T14:03:07+01:00"
    assert ev.closed_iso == "2026-11-25T14:03:21+01:00"
    assert ev.cue_text.startswith("figure height fell 60% in 0.8 s, then no motion for 12 s")
    assert "width-to-height ratio 2.1" in ev.cue_text
    assert ev.keyframes == ("media/inc-42/kf-0.jpg",)
    assert (ev.incident_id, ev.version) == ("inc-42", 3)
    assert 2 <= len(ev.timeline) <= 8
    with pytest.raises(ValueError, match="frozen"):
        ev.zone = "elsewhere"  # type: ignore[misc]


def test_build_evidence_rejects_bad_input(evidence_factory: Factory) -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        evidence_factory(timezone="Mars/Olympus")
    other = CameraInfo(camera_id="gate-3", name="Gate 3")
    with pytest.raises(ValueError, match="gate-3"):
        evidence_factory(camera=other)


def test_timeline_brief_keeps_ends_and_peak() -> None:
    points = [ScorePoint(100.0 + i, 0.5) for i in range(40)]
    points[23] = ScorePoint(123.0, 0.99)
    brief = brief_timeline(points, opened_ts_s=100.0, max_points=6)
    assert len(brief) == 6
    assert brief[0].offset_s == 0.0 and brief[-1].offset_s == 39.0
    assert max(p.score for p in brief) == 0.99
    assert [p.offset_s for p in brief] == sorted(p.offset_s for p in brief)


@pytest.mark.parametrize(
    ("cues", "expected"),
    [
        (
            {"fall_height_drop_ratio": 0.6, "fall_drop_duration_s": 0.8, "fall_still_s": 12.0},
            "figure height fell 60% in 0.8 s, then no motion for 12 s",
        ),
        ({"fall_height_drop_ratio": 0.45}, "figure height fell 45%"),
        ({"fall_still_s": 30.0}, "no motion for 30 s"),
        ({"fire_area_ratio": 0.12}, "fire-coloured area covers 12% of the frame"),
        ({"fire_growth_ratio": 3.0}, "fire-coloured area is 3 times its size at onset"),
        ({"fire_flicker": 0.7}, "flicker 70%"),
        ({"smoke_density_ratio": 0.3}, "smoke density 30%"),
        ({"loiter_time_s": 95.0}, "loiter time 95 s"),
        ({"blob_count": 2.0}, "blob count 2"),
    ],
)
def test_cue_phrases(cues: dict[str, float], expected: str) -> None:
    phrases = [c.phrase for c in cue_phrases(cues)]
    assert phrases[0] == expected


def test_non_finite_cue_is_left_out() -> None:
    assert [c.name for c in cue_phrases({"x": float("nan"), "y": 1.0})] == ["y"]


def test_template_fall_closed(evidence_factory: Factory) -> None:
    report = template_report(evidence_factory())
    assert report.backend == "template" and report.model is None
    assert not report.fallback_used and report.fallback_reason is None
    assert (report.incident_id, report.incident_version) == ("inc-42", 3)
    assert report.title == "Fall on camera Loading Dock 1, zone restricted"
    s = report.summary
    assert "A fall was detected by camera Loading Dock 1 (north wall), zone restricted" in s
    assert "at 2026-11-25T14:03:07+01:00" in s
    assert "lasted 14 s" in s and "ended at 2026-11-25T14:03:21+01:00" in s
    assert "Peak score 87% (high confidence), mean 74%" in s
    assert "figure height fell 60% in 0.8 s, then no motion for 12 s" in s
    assert report.severity is Severity.HIGH
    assert "person" in report.action


def test_template_open_fire_is_ongoing_in_summer_time(evidence_factory: Factory) -> None:
    summer = datetime(2026, 7, 1, 9, 30, 0, tzinfo=ZoneInfo("Europe/Berlin")).timestamp()
    report = template_report(
        evidence_factory(event_type="fire", closed=False, opened_ts_s=summer, peak=0.95, zone=None)
    )
    assert report.title == "Fire on camera Loading Dock 1"
    assert "2026-07-01T09:30:00+02:00" in report.summary
    assert "ongoing" in report.summary and "ended" not in report.summary
    assert "95% (very high confidence)" in report.summary
    assert "fire-coloured area covers 12% of the frame" in report.summary
    assert "zone" not in report.summary
    assert "fire" in report.action.lower()


def test_template_unknown_event_and_cue_do_not_crash(evidence_factory: Factory) -> None:
    report = template_report(
        evidence_factory(event_type="crowd_gathering", cues={"crowd_density": 0.456}, peak=0.4)
    )
    assert report.title.startswith("Crowd gathering event on camera")
    assert "crowd density 0.46" in report.summary
    assert "(low confidence)" in report.summary
    assert report.severity is Severity.LOW


def test_template_is_deterministic_and_marks_fallback(evidence_factory: Factory) -> None:
    ev = evidence_factory()
    assert template_report(ev) == template_report(ev)
    fb = template_report(ev, fallback_reason="openai: timeout after 5.0 s", latency_s=5.0)
    assert fb.fallback_used and fb.fallback_reason == "openai: timeout after 5.0 s"
    assert fb.summary == template_report(ev).summary


def test_utc_site_renders_z_offset() -> None:
    update = IncidentUpdate(
        incident_id="i",
        version=1,
        kind=UpdateKind.OPEN,
        camera_id="c",
        event_type="smoke",
        ts_s=0.0,
        opened_ts_s=0.0,
        closed_ts_s=None,
        score=0.7,
        peak_score=0.7,
        mean_score=0.7,
    )
    ev = build_evidence(
        update, camera=CameraInfo(camera_id="c", name="C"), site="s", timezone="UTC"
    )
    assert ev.opened_iso == "1970-01-01T00:00:00+00:00"
    report = template_report(ev)
    assert "ongoing (0.0 s so far)" in report.summary
    assert "Detector cues" not in report.summary


@pytest.mark.parametrize(
    ("event_type", "duration_s", "zone", "expected"),
    [
        ("fall", 14.0, None, Severity.HIGH),
        ("fall", 60.0, None, Severity.CRITICAL),
        ("fire", 5.0, "server-room", Severity.CRITICAL),
        ("fire", 600.0, "server-room", Severity.CRITICAL),
        ("smoke", 5.0, None, Severity.MEDIUM),
        ("smoke", 90.0, None, Severity.HIGH),
        ("intrusion", 5.0, "server-room", Severity.HIGH),
        ("intrusion", 5.0, "yard", Severity.MEDIUM),
        ("loitering", 5.0, None, Severity.LOW),
        ("loitering", 120.0, "server-room", Severity.HIGH),
    ],
)
def test_severity_rules(
    evidence_factory: Factory,
    event_type: str,
    duration_s: float,
    zone: str | None,
    expected: Severity,
) -> None:
    rules = SeverityConfig(critical_zones=("server-room",))
    ev = evidence_factory(event_type=event_type, duration_s=duration_s, zone=zone)
    assert severity_for(ev, rules) is expected


def test_severity_base_override(evidence_factory: Factory) -> None:
    rules = SeverityConfig(base={"intrusion": "critical"})
    assert severity_for(evidence_factory(event_type="intrusion"), rules) is Severity.CRITICAL
    assert severity_for(evidence_factory(event_type="fall"), rules) is Severity.LOW
    report = template_report(evidence_factory(event_type="intrusion"), severity_rules=rules)
    assert report.action.startswith("Immediately: ")


@pytest.mark.parametrize(
    ("reason", "phrase"),
    [("stream_ended", "the video stream ended"), ("shutdown", "monitoring was stopped")],
)
def test_template_does_not_claim_the_event_ended_when_observation_stopped(
    reason: str, phrase: str
) -> None:
    from dataclasses import replace

    from reports_helpers import DOCK, TZ, make_update

    from reports.grounding import check_grounding

    update = replace(make_update(closed=True), close_reason=reason)
    ev = build_evidence(update, camera=DOCK, site="warehouse-7", timezone=TZ)
    report = template_report(ev)
    assert f"still present after 14 s, when {phrase} at 2026-11-25T14:03:21+01:00" in report.summary
    assert "It lasted" not in report.summary
    assert check_grounding(report.text, ev) == ()
