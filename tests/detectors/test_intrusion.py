"""Intrusion per person inside zones, with dwell and loitering: unit level on fed track boxes,
and end to end through ``vigil eval`` on the generated intrusion scene with its zone config."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest

from detectors.lifecycle import CameraDetector
from detectors.settings import EventConfig, ZoneConfig
from detectors.types import IncidentUpdate, UpdateKind
from detectors.zones import ZoneFilter
from engines.types import Box, Scores
from tests.support.cli import run_vigil
from tests.support.smoke_scenes import scores_of, smoke_scene
from vigil.scene_smoke import INTRUSION_ZONE
from vigil.scene_truth import truth_path

REPO = Path(__file__).resolve().parents[2]
ZONE = ZoneConfig(name="dock", polygon=INTRUSION_ZONE, events=["intrusion"])
INSIDE: Box = (0.70, 0.55, 0.76, 0.85)  # ground point (0.73, 0.85): in the zone
OUTSIDE: Box = (0.10, 0.40, 0.16, 0.70)  # ground point (0.13, 0.70): outside


def detector(zones: list[ZoneConfig], **rule: float) -> CameraDetector:
    resolved = EventConfig(dwell_s=5.0, loiter_s=12.0, **rule).resolved("intrusion")  # type: ignore[arg-type]
    return CameraDetector("cam", {"intrusion": resolved}, zones)


def feed(
    det: CameraDetector, script: Mapping[int, tuple[float, float, Box]], seconds: float
) -> list[IncidentUpdate]:
    """Feed 2 samples a second; ``script`` is track id -> (from s, to s, box)."""
    out: list[IncidentUpdate] = []
    for i in range(int(seconds * 2)):
        t = i / 2
        tracks = {k: box for k, (a, b, box) in script.items() if a <= t < b}
        scores = Scores("cam", i, t, 100 + t, {"intrusion": 1.0 if tracks else 0.0}, tracks=tracks)
        out.extend(det.update(scores))
    return out + det.finish(100 + seconds, "end")


def opens(updates: list[IncidentUpdate]) -> list[IncidentUpdate]:
    return [u for u in updates if u.kind is UpdateKind.OPEN]


def test_a_person_staying_in_the_zone_opens_after_dwell_s_with_the_zone_name() -> None:
    updates = feed(detector([ZONE]), {1: (2.0, 20.0, INSIDE)}, 30.0)
    (op,) = opens(updates)
    assert op.onset_pts_s == 7.0  # entered at 2 s, dwell 5 s
    assert op.ts_s == 108.0  # and the rule's minimum duration (1 s) later it opens
    assert op.zone == "dock" and op.region == INSIDE
    assert op.cues["intrusion_dwell_s"] == 6.0 and op.cues["intrusion_loitering"] == 0.0
    close = updates[-1]
    assert close.kind is UpdateKind.CLOSE and close.closed_ts_s == 120.0


def test_loitering_after_loiter_s_raises_the_score_and_emits_an_update() -> None:
    updates = feed(detector([ZONE]), {1: (2.0, 20.0, INSIDE)}, 22.0)
    loiter = [u for u in updates if u.kind is UpdateKind.UPDATE and u.cues["intrusion_loitering"]]
    assert loiter and loiter[0].ts_s == 114.0  # 12 s after entering
    assert loiter[0].score == 1.0 and loiter[0].peak_score == 1.0
    (op,) = opens(updates)
    assert op.score < 1.0


def test_a_passer_by_does_not_trigger() -> None:
    assert opens(feed(detector([ZONE]), {1: (3.0, 6.5, INSIDE)}, 20.0)) == []


def test_a_person_outside_the_zone_never_raises_it_nor_hides_one_inside() -> None:
    assert opens(feed(detector([ZONE]), {1: (0.0, 40.0, OUTSIDE)}, 40.0)) == []
    # the outside person has stayed longer, yet the inside one alone decides
    both = feed(detector([ZONE]), {1: (0.0, 40.0, OUTSIDE), 2: (10.0, 30.0, INSIDE)}, 40.0)
    (op,) = opens(both)
    assert op.onset_pts_s == 15.0 and op.region == INSIDE and op.zone == "dock"


def test_a_new_track_id_where_a_person_stood_continues_their_stay() -> None:
    moved = (0.71, 0.55, 0.77, 0.86)
    (op,) = opens(feed(detector([ZONE]), {1: (2.0, 5.0, INSIDE), 7: (5.5, 20.0, moved)}, 20.0))
    assert op.onset_pts_s == 7.0


def test_without_a_zone_any_person_present_for_dwell_s_alerts_and_masks_drop() -> None:
    (op,) = opens(feed(detector([]), {1: (0.0, 20.0, OUTSIDE)}, 20.0))
    assert op.onset_pts_s == 5.0 and op.zone is None
    mask = ZoneConfig(name="yard", polygon=[(0, 0), (0.5, 0), (0.5, 1), (0, 1)], mask=True)
    assert opens(feed(detector([mask]), {1: (0.0, 20.0, OUTSIDE)}, 20.0)) == []


def test_a_scorer_without_tracks_is_scored_as_before() -> None:
    det = detector([])
    out: list[IncidentUpdate] = []
    for i in range(10):
        out.extend(det.update(Scores("cam", i, i / 2, 100 + i / 2, {"intrusion": 0.9})))
    assert len(opens(out)) == 1 and opens(out)[0].onset_pts_s == 0.0


@pytest.mark.parametrize(("seed", "width", "height"), [(0, 320, 240), (1, 640, 480)])
def test_the_cue_scorer_keeps_a_person_who_stands_still_under_one_id(
    seed: int, width: int, height: int
) -> None:
    clip = smoke_scene("intrusion", seed, 28.0, width, height)
    ids: set[int] = set()
    for s in scores_of(clip):
        inside = [k for k, b in (s.tracks or {}).items() if ZoneFilter([ZONE]).decide(
            "intrusion", b).counts]  # fmt: skip
        if 7.0 <= s.pts_s <= 17.0:  # the first person stands in the zone from 5.8 s to 17.8 s
            assert len(inside) == 1, (s.pts_s, s.tracks)
            ids.update(inside)
        if 21.5 <= s.pts_s <= 22.5:
            assert inside == []  # the first has left, the passer-by not yet arrived (22.9 s)
    assert len(ids) == 1


def _eval(folder: Path, *args: str) -> dict[str, object]:
    proc = run_vigil("eval", str(folder), "--json", "--jobs", "1", *args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc: dict[str, object] = json.loads(proc.stdout)
    return doc


def test_vigil_eval_with_the_zone_config_finds_the_stay_and_nothing_else(tmp_path: Path) -> None:
    clip = smoke_scene("intrusion", 0, 28.0)
    folder = tmp_path / "set"
    folder.mkdir()
    shutil.copy(clip, folder / clip.name)
    shutil.copy(truth_path(clip), truth_path(folder / clip.name))
    config = REPO / "configs" / "examples" / "intrusion-zone.yaml"
    doc = _eval(folder, "-c", str(config), "--camera", "dock")
    metrics = doc["event_types"]["intrusion"]  # type: ignore[index]
    assert metrics["recall"] == 1.0 and metrics["precision"] == 1.0, metrics
    (res,) = doc["clips"]  # type: ignore[misc]
    (inc,) = res["incidents"]
    assert inc["type"] == "intrusion" and inc["matched"] and res["missed"] == []
    assert inc["closed_s"] < 24.0  # the person left the zone at about 20 s
    # without the zone, the person who stands outside it all along keeps it open to the end
    plain = _eval(folder)
    (res,) = plain["clips"]  # type: ignore[misc]
    assert res["incidents"] and max(i["closed_s"] for i in res["incidents"]) >= 27.0
