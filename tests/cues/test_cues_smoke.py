"""The cue scorer's smoke cue on generated plumes and on look-alikes (grey person, grey car,
haze over the whole frame, flat lighting)."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from engines.cues import CueScorer
from engines.types import Scores
from streamer.types import Frame, Window
from tests.support.smoke_scenes import smoke_scene
from vigil.scene_truth import load_truth


def scores_of(clip: Path, fps: float = 2.0) -> list[Scores]:
    """Every sampled frame's scores (the clip decoded and sampled at ``fps``)."""
    scorer = CueScorer()
    out: list[Scores] = []
    nxt = 0.0
    with av.open(str(clip)) as c:
        for fr in c.decode(video=0):
            t = float(fr.pts * fr.time_base)
            if t + 1e-6 < nxt:
                continue
            nxt += 1.0 / fps
            f = Frame("cam", len(out), t, 1000 + t, fr.to_ndarray(format="bgr24"))
            out.extend(scorer.score_batch([f], [Window("cam", (f,), 8)]))
    return out


@pytest.mark.parametrize(
    ("seed", "width", "height"),
    [(0, 320, 240), (1, 320, 240), (2, 640, 480)],
    ids=["light-320", "dark-320", "seed2-640"],
)
def test_a_rising_plume_is_smoke_within_seconds_of_becoming_visible(
    seed: int, width: int, height: int
) -> None:
    clip = smoke_scene("smoke", seed, 30.0, width, height)
    (event,) = load_truth(clip).events
    scores = scores_of(clip)
    before = [s for s in scores if s.pts_s < event.start_s - 1.0]
    assert max(s.score("smoke") for s in before) < 0.3
    onset = next(s for s in scores if s.score("smoke") >= 0.6)
    assert event.start_s - 1.0 <= onset.pts_s <= event.start_s + 3.0
    # and it stays smoke while the plume is there
    after = [s.score("smoke") for s in scores if s.pts_s >= onset.pts_s]
    assert sum(v >= 0.6 for v in after) >= 0.9 * len(after)
    last = scores[-1]
    assert last.cues["smoke_area_ratio"] > 0.05 and last.cues["smoke_contrast_drop"] > 0.4
    assert last.cues["smoke_rise_px_s"] > 0
    x0, y0, x1, y1 = last.regions["smoke"]
    assert y1 > 0.75 and y0 < 0.5 and x1 - x0 < 0.8  # from the floor up, not the whole frame


def test_grey_person_grey_car_haze_and_flat_lighting_are_not_smoke() -> None:
    clip = smoke_scene("smoke_negatives", 0, 36.0)
    assert load_truth(clip).events == []
    scores = scores_of(clip)
    assert max(s.score("smoke") for s in scores) < 0.3
    # the haze was seen (a veil over most of the frame), and refused as fog
    assert max(s.cues.get("smoke_area_ratio", 0.0) for s in scores) > 0.45
