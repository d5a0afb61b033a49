"""The weight-free cue scorer on small synthetic sequences (unit level; scenes are in e2e)."""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np
import pytest

from engines.cues import CueScorer
from streamer.types import Frame, Window

W, H = 320, 240
FPS = 2.0


def background(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    low = cv2.resize(rng.normal(0, 12, (16, 20, 3)).astype(np.float32), (W, H))
    return np.clip(110 + low, 0, 255).astype(np.float32)


def run(
    draw: Callable[[np.ndarray, float, np.random.Generator], None],
    seconds: float,
    *,
    gain: Callable[[float], float] = lambda t: 1.0,
) -> list[dict[str, float]]:
    scorer = CueScorer()
    bg = background()
    rng = np.random.default_rng(1)
    out = []
    for i in range(int(seconds * FPS)):
        t = i / FPS
        img = bg.copy()
        draw(img, t, rng)
        img = img * gain(t) + rng.normal(0, 3, img.shape)
        frame = Frame("cam", i, t, 1000 + t, np.clip(img, 0, 255).astype(np.uint8))
        (s,) = scorer.score_batch([frame], [Window("cam", (frame,), 8.0)])
        out.append(dict(s.events))
    return out


def person(
    img: np.ndarray,
    x: float,
    feet_y: float,
    height: float,
    angle: float,
    colour: tuple[int, int, int],
) -> None:
    """A solid figure rotated by ``angle`` (radians) about its feet."""
    w = height * 0.3
    pts = np.array([[-w / 2, 0], [w / 2, 0], [w / 2, -height], [-w / 2, -height]])
    c, s = math.cos(angle), math.sin(angle)
    rot = pts @ np.array([[c, s], [-s, c]])
    poly = (rot + [x, feet_y]).astype(np.int32)
    cv2.fillPoly(img, [poly], colour)


def flame(
    img: np.ndarray, t: float, rng: np.random.Generator, x: int, base: int, size: float
) -> None:
    pts = [(x - size / 2, base)]
    for k in range(6):
        u = (k + 0.5) / 6
        pts.append(
            (
                x - size / 2 + size * u,
                base - size * 1.3 * math.sin(math.pi * u) * rng.uniform(0.5, 1.2),
            )
        )
    pts.append((x + size / 2, base))
    cv2.fillPoly(img, [np.array(pts, np.int32)], (0, 60, 240))
    inner = [(x + (px - x) * 0.5, base - (base - py) * 0.55) for px, py in pts]
    cv2.fillPoly(img, [np.array(inner, np.int32)], (190, 250, 255))


def peak(scores: list[dict[str, float]], event: str, after_s: float = 0.0) -> float:
    return max(s[event] for i, s in enumerate(scores) if i / FPS >= after_s)


def test_static_noisy_scene_scores_nothing() -> None:
    scores = run(lambda img, t, rng: None, 20)
    assert peak(scores, "fall") == 0.0 and peak(scores, "fire") == 0.0


def test_fast_fall_then_lying_still_scores_high() -> None:
    def draw(img: np.ndarray, t: float, rng: np.random.Generator) -> None:
        x = 60 + 15 * min(t, 6)
        angle = 0.0 if t < 6 else min(1.0, (t - 6) / 0.5) * (math.pi / 2 - 0.05)
        person(img, x, 200, 110, angle, (160, 80, 30))

    scores = run(draw, 16)
    assert peak(scores, "fall", after_s=0) >= 0.9
    assert max(s["fall"] for s in scores[: int(6 * FPS)]) == 0.0  # nothing before the fall


@pytest.mark.parametrize("what", ["crouch", "slow_lie_down", "walk"])
def test_ordinary_movements_are_not_falls(what: str) -> None:
    def draw(img: np.ndarray, t: float, rng: np.random.Generator) -> None:
        if what == "walk":
            person(img, 20 + 18 * t, 200, 110, 0.0, (40, 40, 200))
        elif what == "crouch":
            # height shrinks to 55 % over 2 s, width stays: a crouch, then back up
            k = min(1.0, max(0.0, (t - 5) / 2)) if t < 10 else max(0.0, 1 - (t - 10) / 2)
            hgt = 110 * (1 - 0.45 * k)
            cv2.rectangle(img, (150, int(200 - hgt)), (190 + int(10 * k), 200), (0, 120, 250), -1)
        else:
            # lying down slowly over 4 s is not a fall
            angle = min(1.0, max(0.0, (t - 5) / 4)) * (math.pi / 2 - 0.05)
            person(img, 150, 200, 110, angle, (60, 140, 60))

    scores = run(draw, 18)
    assert peak(scores, "fall") < 0.6


def test_growing_flickering_flame_scores_high() -> None:
    def draw(img: np.ndarray, t: float, rng: np.random.Generator) -> None:
        if t >= 5:
            flame(img, t, rng, 220, 220, 30 + 3 * (t - 5))

    scores = run(draw, 14)
    assert max(s["fire"] for s in scores[: int(5 * FPS)]) == 0.0
    assert peak(scores, "fire", after_s=5) >= 0.8


def test_orange_clothing_walking_or_standing_is_not_fire() -> None:
    def draw(img: np.ndarray, t: float, rng: np.random.Generator) -> None:
        x = 30 + 20 * min(t, 7)  # walks, then stands still (arms swaying)
        person(img, x, 200, 110, 0.0, (0, 120, 250))
        cv2.circle(img, (int(x), 80), 9, (120, 160, 210), -1)
        sway = 6 * math.sin(t * 3)
        cv2.line(img, (int(x), 120), (int(x + sway), 160), (0, 120, 250), 5)

    scores = run(draw, 16, gain=lambda t: 1.0 if t < 10 else 1.2)  # lights up at 10 s
    assert peak(scores, "fire") < 0.6


@pytest.mark.parametrize("light_step", [1.0, 1.25])
def test_static_orange_object_occluded_by_passers_by_is_not_fire(light_step: float) -> None:
    def draw(img: np.ndarray, t: float, rng: np.random.Generator) -> None:
        cone = np.array([[60, 200], [90, 200], [78, 150], [72, 150]], np.int32)
        cv2.fillPoly(img, [cone], (20, 110, 250))
        cv2.line(img, (66, 180), (84, 180), (235, 240, 250), 4)
        px = (t * 40) % (W + 60) - 30  # people keep walking past in front of it
        person(img, px, 205, 110, 0.0, (90, 90, 90))
        img[:] = cv2.GaussianBlur(img, (5, 5), 0)  # optics and compression blend the edges

    # with a lighting step half way, which makes the object's pale stripe look like a core
    scores = run(draw, 20, gain=lambda t: 1.0 if t < 9 else light_step)
    assert peak(scores, "fire") < 0.6


def test_lighting_switch_is_not_an_event() -> None:
    scores = run(lambda img, t, rng: None, 16, gain=lambda t: 1.0 if t < 8 else 1.35)
    assert peak(scores, "fall") == 0.0 and peak(scores, "fire") == 0.0


def test_resolution_change_resets_and_batches_are_checked() -> None:
    scorer = CueScorer()
    a = Frame("cam", 0, 0.0, 0.0, np.zeros((240, 320, 3), np.uint8))
    b = Frame("cam", 1, 0.5, 0.5, np.zeros((480, 640, 3), np.uint8))
    scorer.score_batch([a], [Window("cam", (a,), 8)])
    (s,) = scorer.score_batch([b], [Window("cam", (b,), 8)])
    assert s.events == {"fall": 0.0, "fire": 0.0, "smoke": 0.0, "intrusion": 0.0}
    with pytest.raises(ValueError, match="1 frames but 0 windows"):
        scorer.score_batch([a], [])


def _fall_then(after: Callable[[np.ndarray, float], None]) -> list[dict[str, float]]:
    """A figure walks, falls at 6 s and lies there; ``after(img, t)`` draws what follows."""

    def draw(img: np.ndarray, t: float, rng: np.random.Generator) -> None:
        angle = 0.0 if t < 6 else min(1.0, (t - 6) / 0.5) * (math.pi / 2 - 0.05)
        if t < 12:
            person(img, 60 + 15 * min(t, 6), 200, 110, angle, (160, 80, 30))
        after(img, t)

    return run(draw, 24)


def test_a_fall_ends_once_the_figure_gets_up_and_walks_away() -> None:
    def after(img: np.ndarray, t: float) -> None:
        if t >= 12:  # up within a second, then walks off to the right
            up = max(0.0, 1.0 - (t - 12) / 1.0) * (math.pi / 2 - 0.05)
            person(img, 150 + 20 * max(0.0, t - 13), 200, 110, up, (160, 80, 30))

    scores = _fall_then(after)
    assert min(s["fall"] for s in scores[int(7 * FPS) : int(12 * FPS)]) >= 0.7  # lying
    assert max(s["fall"] for s in scores[int(19 * FPS) :]) < 0.4  # up and gone


def test_someone_standing_by_the_fallen_figure_does_not_end_the_fall() -> None:
    def after(img: np.ndarray, t: float) -> None:
        if t >= 12:  # still lying, while a helper walks up and stands beside the figure
            person(img, 150, 200, 110, math.pi / 2 - 0.05, (160, 80, 30))
            person(img, min(140.0, 20 + 30 * (t - 12)), 205, 115, 0.0, (40, 40, 200))

    scores = _fall_then(after)
    assert min(s["fall"] for s in scores[int(7 * FPS) :]) >= 0.6
