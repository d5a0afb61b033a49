"""The hard negative scenarios about light: headlights at night, reflections, flashing lamps."""

from __future__ import annotations

import math

import cv2
import numpy as np

from vigil.scene_draw import keyed
from vigil.scene_light import caustics, cone_mask, headlight_pass, wet_reflection, window_ghosts
from vigil.scene_props import add_glow, beam_on_wall, draw_beacon, draw_blinker, draw_sign
from vigil.scene_stage import Stage, hall, walkers, yard


def headlights(rng: np.random.Generator, w: int, h: int, d: float, fps: int) -> Stage:
    """A dark yard at night: cars whose two headlight cones sweep the ground and the wall (one
    turns in towards the camera), under one dim street lamp."""
    stage = yard(rng, w, h)
    walkers(stage, rng, w, (0.6 * h, 0.9 * h), d, (5.0, 8.0))
    hz = int(0.42 * h)
    length = 2.2 * (stage.scale_at[0] + stage.scale_at[1] * 0.7 * h)
    passes = [
        [(0.05 * d, -0.6 * length, 0.82 * h, 0.0), (0.4 * d, w + 0.6 * length, 0.82 * h, 0.0)],
        [
            (0.4 * d, w + 0.6 * length, 0.55 * h, math.pi + 0.45),
            (0.6 * d, 0.55 * w, 0.62 * h, math.pi - 0.2),
            (0.75 * d, -0.6 * length, 0.75 * h, math.pi - 0.5),
        ],
        [
            (0.72 * d, w + 0.6 * length, 0.9 * h, math.pi),
            (0.98 * d, -0.6 * length, 0.9 * h, math.pi),
        ],
    ]
    cars = [headlight_pass(k, length, (90, 90, 100)) for k in passes]
    for (draw, _light), keys in zip(cars, passes, strict=True):
        stage.prop(keys[0][2], draw)
    lamp = cone_mask((h, w), (0.3 * w, 0.1 * h), math.pi / 2, 0.85 * h, 0.7) * 0.35
    ambient = 0.1 + lamp

    def light(img: np.ndarray, t: float) -> np.ndarray:
        lit = ambient.copy()
        for (_draw, cone), _keys in zip(cars, passes, strict=True):
            mask = cone((h, w), t)
            if mask is not None:
                lit += mask * 1.6
                lit[:hz] += mask[:hz] * 0.6  # the wall faces the beam
        out = img * lit[..., None] * np.array([0.9, 1.0, 1.1], np.float32)
        for keys in passes:
            _glare(out, keys, length, t)
        return out

    stage.light = light
    stage.noise = 4.0
    return stage


def _glare(
    img: np.ndarray, keys: list[tuple[float, float, float, float]], length: float, t: float
) -> None:
    """The bright lamps of a car (two headlights, red tail lights) at ``t``."""
    if not keys[0][0] <= t <= keys[-1][0]:
        return
    x = keyed([(k[0], k[1]) for k in keys], t)
    y = keyed([(k[0], k[2]) for k in keys], t)
    heading = keyed([(k[0], k[3]) for k in keys], t)
    f = 1 if math.cos(heading) >= 0 else -1
    toward = max(0.0, math.sin(heading))  # the lamps turn towards the camera
    for dx in (0.0, 0.06 * length * toward):
        add_glow(
            img,
            (x + f * (0.5 * length - dx), y - 0.16 * length),
            0.04 * length,
            (200, 240, 255),
            1.0 + toward,
        )
    add_glow(img, (x - f * 0.49 * length, y - 0.165 * length), 0.03 * length, (40, 40, 255), 0.8)


def reflections(rng: np.random.Generator, w: int, h: int, d: float, fps: int) -> Stage:
    """A hall with a wet, glossy floor mirroring the walkers, caustics of sunlit water
    rippling on the wall, and a window pane reflecting cars that pass behind the camera."""
    stage = hall(rng, w, h)
    hz = int(0.38 * h)
    stage.world[hz:] *= 0.8
    walkers(stage, rng, w, (0.5 * h, 0.9 * h), d, (2.0, 4.0))
    pane = (int(0.58 * w), int(0.06 * h), int(0.9 * w), int(0.3 * h))
    x0, y0, x1, y1 = pane
    stage.world[y0:y1, x0:x1] = stage.world[y0:y1, x0:x1] * 0.3 + np.array([70, 60, 50], np.float32)
    cv2.rectangle(stage.world, (x0, y0), (x1, y1), (200, 200, 200), 3)
    people = stage.people
    region: np.ndarray = np.zeros((h, w), np.float32)
    region[: int(0.9 * hz), : int(0.55 * w)] = 1.0
    region = cv2.GaussianBlur(region, (0, 0), 0.03 * w)[..., None]
    pool = cone_mask((h, w), (0.25 * w, 1.2 * h), -math.pi / 2 - 0.2, 0.7 * h, 0.6)[..., None]
    region = region + pool * 0.6

    def light(img: np.ndarray, t: float) -> np.ndarray:
        wet_reflection(img, people, t, hz)
        window_ghosts(img, pane, t, max(1.5, 0.18 * d), 7)
        c = caustics((h, w), t, 0.06 * h)[..., None]
        return img + c * region * np.array([50, 100, 130], np.float32)

    stage.light = light
    return stage


def flashing(rng: np.random.Generator, w: int, h: int, d: float, fps: int) -> Stage:
    """Dusk at a works entrance: a rotating amber beacon sweeping the wall, a red lamp
    blinking at 1 Hz, a flashing LED arrow sign; people walk by."""
    stage = yard(rng, w, h)
    walkers(stage, rng, w, (0.5 * h, 0.95 * h), d, (2.5, 5.0))
    hz = int(0.42 * h)
    bx, by, r = 0.18 * w, 0.38 * h, 0.035 * h
    cv2.line(stage.world, (int(bx), int(by)), (int(bx), int(0.62 * h)), (60, 60, 60), 4)
    cv2.rectangle(
        stage.world,
        (int(0.7 * w), int(0.58 * h)),
        (int(0.95 * w), int(0.62 * h)),
        (40, 40, 220),
        -1,
    )
    for k in range(5):
        sx = int(0.7 * w + k * 0.05 * w)
        cv2.rectangle(
            stage.world,
            (sx, int(0.58 * h)),
            (sx + int(0.025 * w), int(0.62 * h)),
            (230, 230, 230),
            -1,
        )

    def light(img: np.ndarray, t: float) -> np.ndarray:
        out = img * 0.55
        beam_on_wall(out, bx, by, 0.9 * w, t, 0.75, 0, hz)
        toward = draw_beacon(out, bx, by, r, t, 0.75)
        add_glow(out, (bx, 0.62 * h), 0.12 * h, (0, 110, 200), 0.25 * toward)
        draw_blinker(out, 0.96 * w, 0.56 * h, 0.015 * h, int(t * 2) % 2 == 0)
        draw_sign(out, 0.38 * w, 0.06 * h, 0.28 * w, 0.12 * h, t)
        return out

    stage.light = light
    stage.noise = 3.0
    return stage
