"""The fall cue under a moving view, at the frame's edges and through lighting changes.

Each clip is a textured world (larger than the view) with figures drawn in it, seen through a
camera that pans, zooms or shakes (a crop of the world per sample), with an optional exposure
gain; the scorer sees 2 samples a second at 320x240.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from engines.cues import CueScorer
from engines.cues.motion import ViewRegistrar
from streamer.types import Frame, Window

W, H = 320, 240
WORLD_W, WORLD_H = 640, 480
FPS = 2.0

#: A camera at time t: (centre x, centre y) in the world, and zoom (1: the view is W x H).
Camera = Callable[[float], tuple[float, float, float]]
#: Figures drawn into the world at time t.
Actors = Callable[[np.ndarray, float], None]


def world(seed: int = 0) -> np.ndarray:
    """A textured indoor-like world: wall and floor, coarse and fine texture, some panels."""
    rng = np.random.default_rng(seed)
    img = np.empty((WORLD_H, WORLD_W, 3), np.float32)
    img[: WORLD_H // 2] = (120, 118, 112)
    img[WORLD_H // 2 :] = (95, 100, 104)
    for cells, amp in ((20, 12.0), (160, 7.0)):
        small = rng.normal(0, 1, (cells * WORLD_H // WORLD_W, cells, 3)).astype(np.float32)
        img += amp * cv2.resize(small, (WORLD_W, WORLD_H), interpolation=cv2.INTER_CUBIC)
    for _ in range(14):
        x, y = int(rng.integers(0, WORLD_W - 60)), int(rng.integers(0, WORLD_H - 60))
        ww, hh = int(rng.integers(20, 70)), int(rng.integers(15, 60))
        img[y : y + hh, x : x + ww] = (
            img[y : y + hh, x : x + ww] * 0.5 + rng.uniform(40, 180, 3) * 0.5
        )
        cv2.rectangle(img, (x, y), (x + ww, y + hh), (40, 40, 40), 2)
    return img


def figure(img: np.ndarray, x: float, feet_y: float, height: float, angle: float) -> None:
    """A solid figure with a head, rotated by ``angle`` (radians) about its feet."""
    w = height * 0.3
    pts = np.array([[-w / 2, 0], [w / 2, 0], [w / 2, -height * 0.85], [-w / 2, -height * 0.85]])
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, s], [-s, c]])
    poly = (pts @ rot + [x, feet_y]).astype(np.int32)
    cv2.fillPoly(img, [poly], (150, 70, 40))
    head = np.array([0.0, -height * 0.92]) @ rot + [x, feet_y]
    cv2.circle(img, (int(head[0]), int(head[1])), int(height * 0.08), (90, 120, 170), -1)


def still(t: float) -> tuple[float, float, float]:
    return WORLD_W / 2, WORLD_H / 2, 1.0


def pan(t: float) -> tuple[float, float, float]:
    """Still, then a pan of 128 px over 8 s (a PTZ tour), then still again."""
    u = min(1.0, max(0.0, (t - 4) / 8))
    return WORLD_W / 2 - 64 + 128 * u, WORLD_H / 2 + 13 * u, 1.0


def slow_pan(t: float) -> tuple[float, float, float]:
    """Still, then a slow drift of 2 px a second for 8 s, then still again."""
    u = min(8.0, max(0.0, t - 4))
    return WORLD_W / 2 - 8 + 2 * u, WORLD_H / 2 + 0.2 * u, 1.0


def zoom(t: float) -> tuple[float, float, float]:
    """Still, then a zoom in to 1.5x over 8 s towards the figures, then still."""
    u = min(1.0, max(0.0, (t - 4) / 8))
    return WORLD_W / 2, WORLD_H / 2 + 20 * u, 1.0 + 0.5 * u


def shaky(amp: float) -> Camera:
    """A view shaking by up to ``amp`` pixels (a mast in the wind), throughout."""
    rng = np.random.default_rng(7)
    offsets = rng.uniform(-amp, amp, (400, 2))

    def cam(t: float) -> tuple[float, float, float]:
        dx, dy = offsets[round(t * FPS) % len(offsets)]
        return WORLD_W / 2 + dx, WORLD_H / 2 + dy, 1.0

    return cam


def walker(x0: float, speed: float, feet_y: float = 330) -> Actors:
    def draw(img: np.ndarray, t: float) -> None:
        figure(img, x0 + speed * t, feet_y, 120, 0.0)

    return draw


def faller(fall_at: float) -> Actors:
    """Walks in, stands, falls within 0.5 s at ``fall_at`` and lies still."""

    def draw(img: np.ndarray, t: float) -> None:
        x = 250 + 12 * min(t, fall_at - 2)
        angle = min(1.0, max(0.0, (t - fall_at) / 0.5)) * (math.pi / 2 - 0.05)
        figure(img, x, 330, 120, angle)

    return draw


@dataclass
class Run:
    falls: list[float]
    cues: list[dict[str, float]]

    def peak(self, after_s: float = 0.0) -> float:
        return max((f for i, f in enumerate(self.falls) if i / FPS >= after_s), default=0.0)


def film(
    actors: Actors,
    camera: Camera,
    seconds: float,
    gain: Callable[[float], float] = lambda t: 1.0,
) -> Run:
    """Score a clip of the world seen through ``camera``."""
    scorer = CueScorer()
    base = world()
    rng = np.random.default_rng(3)
    out = Run([], [])
    for i in range(int(seconds * FPS)):
        t = i / FPS
        img = base.copy()
        actors(img, t)
        cx, cy, z = camera(t)
        # view pixel (u, v) sees world (cx + (u - W/2)/z, cy + (v - H/2)/z)
        m = np.array([[1 / z, 0, cx - W / 2 / z], [0, 1 / z, cy - H / 2 / z]])
        view = cv2.warpAffine(img, m, (W, H), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR)
        view = view * gain(t) + rng.normal(0, 3, view.shape)
        frame = Frame("cam", i, t, 1000 + t, np.clip(view, 0, 255).astype(np.uint8))
        (s,) = CueScorer.score_batch(scorer, [frame], [Window("cam", (frame,), 8.0)])
        out.falls.append(s.events["fall"])
        out.cues.append(dict(s.cues))
    return out


def test_registration_finds_a_known_shift_and_zoom() -> None:
    base = cv2.cvtColor(np.clip(world(), 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY)
    reg = ViewRegistrar()
    reg.set_reference(base[120:360, 160:480])
    shifted = base[125:365, 168:488]  # the view moved 8 px right, 5 px down
    m = reg.register(shifted).matrix
    assert m[0, 2] == pytest.approx(8, abs=1.0) and m[1, 2] == pytest.approx(5, abs=1.0)
    zoomed = cv2.resize(base[132:348, 176:464], (W, H))  # 1/0.9 zoom about the centre
    mz = reg.register(zoomed)
    assert mz.scale == pytest.approx(0.9, abs=0.015)


@pytest.mark.parametrize("camera", [pan, zoom, shaky(6.0)], ids=["pan", "zoom", "shake"])
def test_a_walker_in_a_moving_view_raises_no_fall(camera: Camera) -> None:
    run = film(walker(200, 14), camera, 20)
    assert run.peak() < 0.6
    assert max(c["camera_motion_px"] for c in run.cues) > 1.0  # the motion was seen


def test_the_view_re_settles_after_a_pan() -> None:
    run = film(lambda img, t: None, pan, 20)
    moving = [c["camera_moving"] for c in run.cues]
    assert all(moving[int(5 * FPS) : int(12 * FPS)])
    assert not any(moving[int(13 * FPS) :])  # still again
    # the background relearned: an empty scene shows no foreground a few seconds later
    assert max(c["foreground_ratio"] for c in run.cues[int(15 * FPS) :]) < 0.02


@pytest.mark.parametrize("direction", ["leaves", "enters"])
def test_a_walker_crossing_the_bottom_edge_raises_no_fall(direction: str) -> None:
    """Cut off by the view's bottom edge (world y 360), a figure's box turns short and wide."""

    def draw(img: np.ndarray, t: float) -> None:
        if direction == "leaves":  # in from the left, then quickly down and out at the bottom
            x, feet = min(320, 120 + 40 * t), 300 + 40 * max(0.0, t - 6)
        else:  # up into the view from below it, then on to the left
            x, feet = 320 - 30 * max(0.0, t - 8), max(300, 520 - 30 * t)
        figure(img, x, feet, 130, 0.0)

    run = film(draw, still, 14)
    assert run.peak() < 0.6


@pytest.mark.parametrize("camera", [still, shaky(8.0)], ids=["still", "shake"])
def test_a_real_fall_is_found_in_a_still_or_shaking_view(camera: Camera) -> None:
    run = film(faller(10), camera, 18)
    assert run.peak(after_s=0) >= 0.7
    assert max(run.falls[: int(10 * FPS)]) < 0.6  # nothing before the fall


def test_exposure_steps_raise_no_fall_and_do_not_end_a_fall() -> None:
    def gain(t: float) -> float:
        return 1.0 if t < 5 else 1.3 if t < 15 else 0.8  # lights up at 5 s, down at 15 s

    empty = film(walker(200, 10), still, 20, gain)
    assert empty.peak() < 0.6
    fallen = film(faller(8), still, 20, gain)
    assert max(fallen.falls[: int(8 * FPS)]) < 0.6
    lying = fallen.falls[int(10 * FPS) :]
    assert min(lying) >= 0.6  # still fallen through the light change at 15 s
