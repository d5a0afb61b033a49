"""Event-level matching and metrics on hand-made incident and truth lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.evaluation.matching import coverage, match_clip, percentile, summarize
from vigil.evaluation.types import ClipResult, Incident, LabelledClip, TruthSpan

FALL = TruthSpan("fall", 20.0, 40.0)


def _clip(*events: TruthSpan, labelled: frozenset[str] = frozenset()) -> LabelledClip:
    return LabelledClip(Path("c.mp4"), "c.mp4", tuple(events), labelled)


def _result(clip: LabelledClip, *incidents: Incident, duration_s: float = 60.0) -> ClipResult:
    return ClipResult(clip, duration_s=duration_s, incidents=list(incidents))


@pytest.mark.parametrize(
    ("opened_s", "matched"),
    [(18.99, False), (19.0, True), (20.0, True), (23.0, True), (23.01, False)],
)
def test_an_incident_matches_if_it_opens_within_one_second_before_to_three_after(
    opened_s: float, matched: bool
) -> None:
    m = match_clip([FALL], [Incident("fall", opened_s, 30.0)], "fall", clip_end_s=60.0)
    assert (len(m.matches), len(m.missed), len(m.false_positives)) == (
        (1, 0, 0) if matched else (0, 1, 1)
    )
    if matched:
        assert m.matches[0].latency_s == pytest.approx(opened_s - 20.0)


def test_an_incident_of_another_type_does_not_match() -> None:
    m = match_clip([FALL], [Incident("fire", 20.5, 30.0)], "fall", clip_end_s=60.0)
    assert len(m.missed) == 1 and not m.false_positives  # the fire is fire's business


def test_two_incidents_for_one_event_the_second_is_a_false_positive() -> None:
    first, second = Incident("fall", 20.5, 21.0), Incident("fall", 22.0, 40.0)
    m = match_clip([FALL], [second, first], "fall", clip_end_s=60.0)
    assert [x.incident for x in m.matches] == [first]
    assert m.false_positives == [second]
    # both were open during the event: coverage counts them both
    assert m.coverage == [pytest.approx((0.5 + 18.0) / 20.0)]


def test_coverage_with_gaps_overlaps_and_an_incident_open_at_the_end() -> None:
    incs = [
        Incident("fall", 15.0, 25.0),  # 5 s inside the span
        Incident("fall", 24.0, 28.0),  # overlaps: 3 s more
        Incident("fall", 35.0, None),  # open at the clip end (60): 5 s to the span's end
        Incident("fire", 20.0, 40.0),  # another type: no coverage
    ]
    assert coverage(FALL, incs, clip_end_s=60.0) == pytest.approx((5 + 3 + 5) / 20.0)
    assert coverage(TruthSpan("fall", 50.0, None), incs, clip_end_s=60.0) == pytest.approx(1.0)
    assert coverage(TruthSpan("fall"), incs, clip_end_s=60.0) is None  # clip-level


def test_a_clip_level_event_matches_any_incident_of_its_type() -> None:
    m = match_clip([TruthSpan("fire")], [Incident("fire", 55.0, None)], "fire", clip_end_s=60.0)
    assert len(m.matches) == 1 and m.matches[0].latency_s is None and m.coverage == []


def test_percentile_interpolates_and_one_sample_is_every_percentile() -> None:
    assert percentile([], 50) is None
    assert percentile([2.5], 50) == percentile([2.5], 95) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    assert percentile([0.0, 10.0], 95) == pytest.approx(9.5)


def test_summary_counts_false_alarms_per_hour_on_negative_clips_only() -> None:
    pos = _result(_clip(FALL), Incident("fall", 21.0, 40.0), Incident("fall", 50.0, 55.0))
    neg = _result(_clip(), Incident("fall", 5.0, 9.0), duration_s=1800.0)
    fire_only = _result(_clip(labelled=frozenset({"fire"})), Incident("fall", 1.0, 2.0))
    metrics = summarize([pos, neg, fire_only], ["fall"])["fall"]
    assert (metrics.events, metrics.matched, metrics.false_positives) == (1, 1, 2)
    assert metrics.precision == pytest.approx(1 / 3) and metrics.recall == 1.0
    assert metrics.f1 == pytest.approx(2 / (2 + 2))
    assert metrics.negative_clips == 1 and metrics.false_alarms == 1
    assert metrics.false_alarms_per_hour == pytest.approx(2.0)  # 1 in half an hour
    assert metrics.latency_p50_s == metrics.latency_p95_s == pytest.approx(1.0)


def test_no_negative_footage_means_no_false_alarm_rate_and_no_incident_no_precision() -> None:
    metrics = summarize([_result(_clip(FALL))], ["fall"])["fall"]
    assert metrics.false_alarms_per_hour is None and metrics.negative_hours == 0
    assert metrics.precision is None and metrics.recall == 0.0 and metrics.f1 == 0.0
    assert metrics.coverage == 0.0 and metrics.latency_p50_s is None
    failed = ClipResult(_clip(FALL), error="boom")
    assert summarize([failed], ["fall"])["fall"].events == 0  # failed clips are left out
