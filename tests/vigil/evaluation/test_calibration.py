"""Threshold calibration from operator dispositions: the pure logic and the snippet file."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.evaluation.calibration import (
    FALSE_ALARM,
    TRUE_ALARM,
    Bounds,
    Disposed,
    Proposal,
    Snippet,
    camera_thresholds,
    per_hour,
    propose,
    propose_one,
    read_thresholds,
)


def _items(
    fa: list[float], ta: list[float], cam: str = "cam-a", ev: str = "fall"
) -> list[Disposed]:
    return [Disposed(cam, ev, p, FALSE_ALARM) for p in fa] + [
        Disposed(cam, ev, p, TRUE_ALARM) for p in ta
    ]


def test_the_proposal_removes_every_false_alarm_and_keeps_every_true_alarm() -> None:
    p = propose_one("cam-a", "fall", 0.6, _items([0.62, 0.70], [0.9, 0.85, 0.95]))
    assert p.proposed == pytest.approx(0.71) and p.changed
    assert p.false_alarms_left == 0 and p.true_alarms_lost == 0
    assert p.false_alarms == (0.62, 0.70) and p.true_alarms == (0.85, 0.9, 0.95)
    assert "highest false alarm" in p.reason


def test_the_proposal_is_never_above_the_lowest_true_alarm() -> None:
    p = propose_one("cam-a", "fall", 0.6, _items([0.88, 0.65], [0.8, 0.93, 0.97]))
    assert p.proposed == pytest.approx(0.8)
    assert p.true_alarms_lost == 0 and p.false_alarms_left == 1  # the 0.88 one stays
    assert "lowest true alarm" in p.reason


def test_a_current_threshold_above_a_true_alarm_comes_down_to_it() -> None:
    p = propose_one("cam-a", "fall", 0.9, _items([0.7], [0.82, 0.95, 0.96, 0.99]))
    assert p.proposed == pytest.approx(0.82) and p.true_alarms_lost == 0


def test_the_ceiling_and_the_floor_clamp_the_proposal() -> None:
    high = propose_one("cam-a", "fire", 0.6, _items([0.97, 0.96, 0.7, 0.8, 0.9], []))
    assert high.proposed == pytest.approx(0.95) and high.false_alarms_left == 2
    assert "ceiling" in high.reason
    bounds = Bounds(floor=0.5, ceiling=0.9, min_dispositions=2)
    low = propose_one("cam-a", "fall", 0.3, _items([0.35, 0.31], [0.7]), bounds)
    assert low.proposed == pytest.approx(0.5) and "floor" in low.reason
    assert low.false_alarms_left == 0 and low.true_alarms_lost == 0


def test_a_true_alarm_under_the_floor_leaves_the_threshold_as_it_is() -> None:
    bounds = Bounds(floor=0.5, min_dispositions=2)
    p = propose_one("cam-a", "fall", 0.4, _items([0.45, 0.47], [0.42]), bounds)
    assert p.proposed == 0.4 and not p.changed and "under the floor" in p.reason


def test_too_few_dispositions_give_no_change() -> None:
    p = propose_one("cam-a", "fall", 0.6, _items([0.7, 0.75], [0.9, 0.95]))
    assert not p.changed and p.reason == "4 disposition(s), 5 needed"
    p = propose_one(
        "cam-a", "fall", 0.6, _items([0.7, 0.75], [0.9, 0.95]), Bounds(min_dispositions=4)
    )
    assert p.changed and p.proposed == pytest.approx(0.76)


def test_no_false_alarm_or_a_threshold_already_above_them_changes_nothing() -> None:
    only_true = propose_one("cam-a", "fall", 0.6, _items([], [0.7, 0.8, 0.9, 0.95, 0.99]))
    assert not only_true.changed and only_true.reason == "no false alarm dispositioned"
    above = propose_one("cam-a", "fall", 0.8, _items([0.62, 0.65, 0.7], [0.9, 0.95]))
    assert not above.changed and above.proposed == 0.8 and "already above" in above.reason


def test_propose_groups_by_camera_and_event_and_ignores_other_dispositions() -> None:
    items = (
        _items([0.7] * 5, [], cam="cam-b")
        + _items([0.66, 0.61, 0.64], [0.9, 0.92], cam="cam-a", ev="fire")
        + [Disposed("cam-a", "fall", 0.99, "nuisance"), Disposed("cam-c", "fall", 0.9, "test")]
    )
    current = {("cam-a", "fire"): 0.6, ("cam-b", "fall"): 0.65}
    out = propose(items, lambda cam, ev: current[(cam, ev)])
    assert [(p.camera_id, p.event_type) for p in out] == [("cam-a", "fire"), ("cam-b", "fall")]
    assert out[0].current == 0.6 and out[0].proposed == pytest.approx(0.67)
    assert out[1].current == 0.65 and out[1].proposed == pytest.approx(0.71)


def test_false_alarms_per_hour() -> None:
    assert per_hour(3, 1.5) == 2.0
    assert per_hour(3, 0.0) is None and per_hour(0, None) is None


def test_bounds_are_checked() -> None:
    with pytest.raises(ValueError, match="floor <= ceiling"):
        Bounds(floor=0.9, ceiling=0.8)
    with pytest.raises(ValueError, match="min_dispositions"):
        Bounds(min_dispositions=0)


def test_the_snippet_holds_the_changed_thresholds_and_reads_back(tmp_path: Path) -> None:
    changed = Proposal("cam-a", "fall", 0.6, 0.71)
    same = Proposal("cam-a", "fire", 0.6, 0.6)
    other = Proposal("cam-b", "fire", 0.5, 0.8)
    text = Snippet.of([changed, same, other]).as_yaml("line one\nline two")
    assert text.startswith("# line one\n# line two\ncameras:\n")
    path = tmp_path / "t.yaml"
    path.write_text(text)
    table = read_thresholds(path)
    assert table == {"cam-a": {"fall": 0.71}, "cam-b": {"fire": 0.8}}
    assert camera_thresholds(table, "cam-b") == {"fire": 0.8}
    with pytest.raises(ValueError, match="2 cameras"):
        camera_thresholds(table, None)
    with pytest.raises(ValueError, match="no camera 'cam-z'"):
        camera_thresholds(table, "cam-z")
    assert camera_thresholds({"x": {"fall": 0.7}}, None) == {"fall": 0.7}


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("cameras: {}\n", "cameras:` list"),
        ("- 1\n", "cameras:` list"),
        ("cameras:\n- id: a\n", "camera entry"),
        ("cameras:\n- id: a\n  events:\n    fall: {threshold: 1.5}\n", "not within"),
        ("cameras: [\n", "t.yaml"),
    ],
)
def test_a_malformed_snippet_is_refused(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        read_thresholds(path)
