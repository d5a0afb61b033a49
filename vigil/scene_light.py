"""Moving light for the hard generated scenes: headlight cones, caustics, reflections."""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

from vigil.scene_draw import Person, draw_person, keyed, skeleton
from vigil.scene_props import draw_car


def cone_mask(
    shape: tuple[int, int], origin: tuple[float, float], angle: float, reach: float, spread: float
) -> np.ndarray:
    """A soft light cone (float32, 0-1) from ``origin`` towards ``angle`` (radians, image
    axes), ``reach`` px long and ``spread`` radians wide, brightest near its source."""
    h, w = shape
    k = 4  # drawn at a quarter of the resolution, then blurred and enlarged
    small: np.ndarray = np.zeros((h // k + 1, w // k + 1), np.float32)
    ox, oy = origin[0] / k, origin[1] / k
    steps = 6
    for i in range(steps, 0, -1):
        r = reach / k * i / steps
        pts = [(ox, oy)]
        for a in np.linspace(angle - spread / 2, angle + spread / 2, 9):
            pts.append((ox + r * math.cos(a), oy + r * math.sin(a)))
        cv2.fillPoly(small, [np.array(pts, np.int32)], 1.0 - 0.6 * (i - 1) / steps)
    small = cv2.GaussianBlur(small, (0, 0), 3.0)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)[:h, :w]


def headlight_pass(
    keys: list[tuple[float, float, float, float]], length: float, colour: tuple[int, int, int]
) -> tuple[
    Callable[[np.ndarray, float], None], Callable[[tuple[int, int], float], np.ndarray | None]
]:
    """A car following keyframes ``(t, x, y, heading)``: its draw function and its light
    function (cone mask at ``t``) for a night scene."""

    def pose(t: float) -> tuple[float, float, float]:
        xs = [(k[0], k[1]) for k in keys]
        ys = [(k[0], k[2]) for k in keys]
        hs = [(k[0], k[3]) for k in keys]
        return keyed(xs, t), keyed(ys, t), keyed(hs, t)

    def draw(img: np.ndarray, t: float) -> None:
        if not keys[0][0] <= t <= keys[-1][0]:
            return
        x, y, heading = pose(t)
        facing = 1 if math.cos(heading) >= 0 else -1
        draw_car(img, x, y, length, colour, facing, x)

    def light(shape: tuple[int, int], t: float) -> np.ndarray | None:
        if not keys[0][0] <= t <= keys[-1][0]:
            return None
        x, y, heading = pose(t)
        facing = 1 if math.cos(heading) >= 0 else -1
        front = (x + facing * 0.5 * length, y - 0.16 * length)
        lamps = [cone_mask(shape, front, heading + da, 4.5 * length, 0.4) for da in (-0.09, 0.09)]
        return np.asarray(np.maximum(*lamps) * 0.8 + (lamps[0] + lamps[1]) * 0.2, np.float32)

    return draw, light


def caustics(shape: tuple[int, int], t: float, scale: float) -> np.ndarray:
    """Moving caustic ridges (0-1) like sunlight reflected off rippling water onto a wall."""
    h, w = shape
    k = 4
    yy, xx = np.mgrid[0 : h // k + 1, 0 : w // k + 1].astype(np.float32)
    xx *= k / scale
    yy *= k / scale
    a = np.sin(xx * 0.9 + 1.7 * np.sin(yy * 0.6 + 1.1 * t) + 0.8 * t)
    b = np.sin(yy * 1.1 - 1.5 * np.sin(xx * 0.5 - 0.9 * t) - 0.6 * t)
    ridge = np.clip(1 - np.abs(a + b) * 0.9, 0, 1) ** 6
    big = cv2.resize(ridge.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    return np.asarray(cv2.GaussianBlur(big, (0, 0), 1.2)[:h, :w], np.float32)


def wet_reflection(img: np.ndarray, people: list[Person], t: float, top: int) -> None:
    """Mirror each person in a wet floor below its feet: blurred, rippled and dim, blended
    into rows from ``top`` down."""
    h, w = img.shape[:2]
    layer = np.zeros_like(img)
    drawn = False
    for p in people:
        if not p.track.active(t):
            continue
        x, y, dist, speed, facing = p.track.at(t)
        hgt = p.height(y)
        stride = min(1.0, speed / (0.45 * hgt)) if speed > 1.0 else 0.0
        j = skeleton(x, y, hgt, dist / (0.62 * hgt) * math.pi, stride, facing, 0.0, 0.0)
        flipped = {k: (v[0], 2 * y - v[1]) for k, v in j.items()}
        draw_person(layer, p.look, flipped, hgt)
        drawn = True
    if not drawn:
        return
    rows = np.arange(h, dtype=np.float32)
    shift = (1.5 * np.sin(rows * 0.35 + 4.0 * t)).astype(np.float32)
    map_x = np.arange(w, dtype=np.float32)[None, :] + shift[:, None]
    map_y = np.repeat(rows[:, None], w, axis=1)
    layer = cv2.remap(cv2.GaussianBlur(layer, (0, 0), 2.0), map_x, map_y, cv2.INTER_LINEAR)
    lit = (layer.sum(axis=2) > 1).astype(np.float32)
    lit[:top] = 0
    alpha = cv2.GaussianBlur(lit, (0, 0), 1.5)[..., None] * 0.35
    img[:] = img * (1 - alpha) + layer * alpha


def window_ghosts(
    img: np.ndarray, box: tuple[int, int, int, int], t: float, period: float, seed: int
) -> None:
    """Faint, blurred reflections of cars passing behind the camera, seen in a window pane
    ``box`` (x0, y0, x1, y1): one every ``period`` seconds, in alternating directions."""
    x0, y0, x1, y1 = box
    pane = img[y0:y1, x0:x1]
    ph, pw = pane.shape[:2]
    layer = np.zeros_like(pane)
    n = int(t // period)
    u = (t % period) / period
    rng = np.random.default_rng(seed + n)
    colour = tuple(int(c) for c in rng.uniform(60, 230, 3))
    direction = 1 if n % 2 == 0 else -1
    length = pw * 0.7
    cx = -length + (pw + 2 * length) * (u if direction > 0 else 1 - u)
    draw_car(layer, cx, ph * 0.85, length, colour, -direction, cx)  # type: ignore[arg-type]
    layer = cv2.GaussianBlur(layer, (0, 0), 2.5)
    alpha = np.clip(layer.sum(axis=2, keepdims=True) / 60.0, 0, 1) * 0.3
    pane[:] = pane * (1 - alpha) + layer * alpha
