"""The grounding check against crafted hallucinations, and what it must let through."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from reports_helpers import CameraInfo

from reports.evidence import Evidence
from reports.grounding import check_grounding
from reports.severity import severity_for
from reports.template import template_report
from reports.types import Severity

Factory = Callable[..., Evidence]

# The default evidence: a fall on camera "Loading Dock 1" (north wall, id dock-1), zone
# "restricted", 2026-11-25 14:03:07–14:03:21 Europe/Berlin (a Wednesday), 14 s, peak 87 %,
# mean 74 %, height fell 60 % in 0.8 s, no motion for 12 s, aspect ratio 2.1; severity high.
GROUNDED = [
    "A fall was detected on camera Loading Dock 1 in zone restricted at 14:03.",
    "Fall at the Loading Dock 1 camera (north wall) at 2:03 pm on Wednesday afternoon.",
    "Camera dock-1 saw a fall at 13:03 UTC on 25 November 2026, lasting 14 seconds.",
    "A fall on November 25th: the figure's height dropped by 60 percent in 0.8 s, then twelve "
    "seconds without motion.",
    "Fall in the restricted zone, peak score 0.87 (87%), mean 74%, duration 0.2 min.",
    "A person fell at 2026-11-25T14:03:07+01:00 and stayed still; the incident ended at "
    "2026-11-25T13:03:21Z.",
    "One person fell near camera Loading Dock 1; high severity.",
    "A fall was detected; raise the fire alarm only if needed and check the fire exit.",
    "A fall, confidence 0.9, width-to-height ratio about 2.",
]


@pytest.mark.parametrize("text", GROUNDED)
def test_grounded_paraphrases_pass(evidence_factory: Factory, text: str) -> None:
    ev = evidence_factory()
    assert check_grounding(text, ev, severity=Severity.HIGH) == ()


HALLUCINATIONS = [
    # wrong camera
    ("A fall was detected on camera Gate 3 at 14:03.", "camera 'Gate"),
    ("A fall was seen by the dock-2 camera.", "dock-2"),
    ('A fall on camera "Lobby East".', "camera 'Lobby East'"),
    ("A fall on cam7 at 14:03.", "cam7"),
    # invented person counts
    ("Two people fell on camera Loading Dock 1.", "count 'Two people'"),
    ("A fall involving 3 persons.", "count '3 persons'"),
    ("Several people fell near the dock.", "count 'Several people'"),
    ("A fall; both individuals stayed down.", "count 'both individuals'"),
    # wrong time, date or time zone
    ("A fall was detected at 15:03.", "time '15:03'"),
    ("A fall at 2026-11-25T14:03:07+00:00.", "not within the incident"),
    ("A fall at 14:03:07 UTC.", "time '14:03:07 UTC'"),
    ("A fall on 24 November 2026.", "date '24 November 2026'"),
    ("A fall on Tuesday.", "weekday 'Tuesday'"),
    ("A fall this morning.", "'morning'"),
    ("A fall yesterday at the dock.", "'yesterday'"),
    ("A fall at 9 pm.", "time '9 pm"),
    # wrong event
    ("Fire on camera Loading Dock 1: flames seen at 14:03.", "'fire' (fire)"),
    ("A fall with smoke in the area.", "'smoke' (smoke)"),
    ("A fall after a fight.", "'fight'"),
    ("An intruder was seen on camera Loading Dock 1.", "'intruder' (intrusion)"),
    ("Something happened at the dock.", "does not name the event (fall)"),
    # invented numbers and details
    ("A fall lasting 45 seconds.", "number '45'"),
    ("A fall with a peak score of 95%.", "number '95%'"),
    ("A man in a red jacket fell.", "detail 'man'"),
    ("A fall next to a forklift.", "detail 'forklift'"),
    # wrong zone or severity
    ("A fall in the danger zone.", "zone 'danger'"),
    ("A fall in zone B.", "zone 'b'"),
    ("A fall of critical severity.", "states severity 'critical'"),
]


@pytest.mark.parametrize(("text", "expected"), HALLUCINATIONS)
def test_hallucinations_are_rejected(evidence_factory: Factory, text: str, expected: str) -> None:
    problems = check_grounding(text, evidence_factory(), severity=Severity.HIGH)
    assert any(expected in p for p in problems), problems


def test_fire_report_without_people_count(evidence_factory: Factory) -> None:
    ev = evidence_factory(event_type="fire")
    assert check_grounding("Fire covering 12% of the frame, 3 times its size.", ev) == ()
    problems = check_grounding("Fire near one person.", ev)
    assert any("count 'one person'" in p for p in problems)
    assert any("'fall' (fall)" in p for p in check_grounding("Fire after a fall.", ev))


def test_counts_follow_a_measured_count_cue(evidence_factory: Factory) -> None:
    ev = evidence_factory(event_type="intrusion", cues={"person_count": 2.0})
    assert check_grounding("An intrusion by two people.", ev) == ()
    assert check_grounding("An intrusion by several people.", ev) == ()
    assert check_grounding("An intrusion by three people.", ev) != ()


def test_no_zone_in_evidence_rejects_any_named_zone(evidence_factory: Factory) -> None:
    ev = evidence_factory(zone=None)
    problems = check_grounding("A fall in zone restricted.", ev)
    assert any("zone 'restricted' is not in the evidence (no zone)" in p for p in problems)


def test_open_incident_times_stop_at_the_last_update(evidence_factory: Factory) -> None:
    ev = evidence_factory(closed=False, duration_s=300.0)  # 14:03:07 .. 14:08:07, ongoing
    assert check_grounding("A fall at 14:05, still ongoing.", ev) == ()
    assert check_grounding("A fall at 14:10.", ev) != ()


@pytest.mark.parametrize("event_type", ["fall", "fire", "smoke", "intrusion", "crowd_gathering"])
@pytest.mark.parametrize("closed", [True, False])
@pytest.mark.parametrize("tz", ["UTC", "America/New_York", "Asia/Kolkata"])
def test_template_report_is_always_grounded(
    evidence_factory: Factory, event_type: str, closed: bool, tz: str
) -> None:
    camera = CameraInfo(camera_id="cam_07", name="Gate 7", location="Building B, floor 2")
    ev = evidence_factory(
        event_type=event_type,
        closed=closed,
        timezone=tz,
        camera=camera,
        camera_id="cam_07",
        zone="zone 3",
        duration_s=4321.0,
    )
    report = template_report(ev)
    text = f"{report.title}\n{report.summary}\n{report.action}"
    assert check_grounding(text, ev, severity=severity_for(ev)) == ()
