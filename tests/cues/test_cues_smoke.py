"""The cue scorer's smoke cue on generated plumes and on look-alikes (grey person, grey car,
haze over the whole frame, flat lighting)."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest

from engines.cues import CueScorer
from engines.types import Scores
from streamer.types import Frame, Window
from tests.support.smoke_scenes import scores_of, smoke_scene
from vigil.scene import _background
from vigil.scene_truth import load_truth


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
    assert not any(s.tracks for s in scores)  # and the plume is no person (for intrusion)


def test_grey_person_grey_car_haze_and_flat_lighting_are_not_smoke() -> None:
    clip = smoke_scene("smoke_negatives", 0, 36.0)
    assert load_truth(clip).events == []
    scores = scores_of(clip)
    assert max(s.score("smoke") for s in scores) < 0.3
    # the haze was seen (a veil over most of the frame), and refused as fog
    assert max(s.cues.get("smoke_area_ratio", 0.0) for s in scores) > 0.45


W, H = 320, 240


def _run_frames(
    bg: np.ndarray, draw: Callable[[np.ndarray, float, np.random.Generator], None], seconds: float
) -> list[Scores]:
    """Score frames drawn in memory at 2 fps (``draw`` paints on a copy of ``bg``)."""
    scorer, rng, out = CueScorer(), np.random.default_rng(1), []
    for i in range(int(seconds * 2)):
        t = i / 2
        img = bg.copy()
        draw(img, t, rng)
        img += rng.normal(0, 3, img.shape)
        f = Frame("cam", i, t, 1000 + t, np.clip(img, 0, 255).astype(np.uint8))
        out.extend(scorer.score_batch([f], [Window("cam", (f,), 8)]))
    return out


def _cone(img: np.ndarray, t: float, rng: np.random.Generator) -> None:
    """Smoke drawn unlike the scenes' puffs: a blurred, noisy cone that widens and grows."""
    if t < 4.0:
        return
    age, (sx, sy) = t - 4.0, (200, 215)
    top, half = sy - min(170.0, 12 * age + 10), 15 + 3 * age
    a = np.zeros((H, W), np.float32)
    pts = [[sx - 6, sy], [sx + 6, sy], [sx + half + 2 * age, top], [sx - half + 2 * age, top]]
    cv2.fillPoly(a, [np.array(pts, np.int32)], 1.0)
    noise = cv2.resize(rng.uniform(0.5, 1.0, (12, 16)).astype(np.float32), (W, H))
    a = cv2.GaussianBlur(a * noise, (0, 0), 6) * min(0.8, 0.15 + age / 15)
    img[:] = img * (1 - a[..., None]) + 170.0 * a[..., None]


def test_a_plume_drawn_differently_on_another_background_is_smoke() -> None:
    bg = _background(np.random.default_rng(5), W, H)
    scores = _run_frames(bg, _cone, 20.0)
    assert max(s.score("smoke") for s in scores if s.pts_s < 5.0) == 0.0
    onset = next(s for s in scores if s.score("smoke") >= 0.6)
    assert onset.pts_s <= 12.0
    assert min(s.score("smoke") for s in scores if s.pts_s >= 14.0) >= 0.6


def test_a_grey_box_put_down_is_not_smoke() -> None:
    def box(img: np.ndarray, t: float, rng: np.random.Generator) -> None:
        if t >= 4.0:  # put down, then pushed slowly upwards (no soft edge, no growth)
            y = int(200 - 2 * (t - 4.0))
            img[y - 60 : y, 150:210] = (150, 150, 152)

    bg = _background(np.random.default_rng(5), W, H)
    assert max(s.score("smoke") for s in _run_frames(bg, box, 20.0)) < 0.3
