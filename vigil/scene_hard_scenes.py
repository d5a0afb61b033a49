"""The hard negative scenarios: one builder per scenario, each returning its ``Stage``.

Times are fractions of the clip's length ``d`` (so a short test clip still holds every
action); nothing in them is a fall or a fire.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from vigil.scene_camera import exposure_gain, pan_centre, shake_offsets, view_matrix, zoom_factor
from vigil.scene_draw import Look, Track, keyed
from vigil.scene_props import draw_ball, draw_bench, draw_boxes, draw_car, draw_chair, draw_flag
from vigil.scene_stage import Stage, hall, look, overhead, walkers, yard

Builder = Callable[[np.random.Generator, int, int, float, int], Stage]


def _car(
    stage: Stage,
    keys: list[tuple[float, float]],
    y: float,
    length: float,
    colour: tuple[int, int, int],
) -> None:
    """A car driving along row ``y`` through x keyframes ``(t, x)``."""

    def draw(img: np.ndarray, t: float) -> None:
        if keys[0][0] <= t <= keys[-1][0]:
            x = keyed(keys, t)
            ahead = keyed(keys, t + 0.1)
            draw_car(img, x, y, length, colour, 1 if ahead >= x else -1, x)

    stage.prop(y, draw)


def _clutter(stage: Stage, rng: np.random.Generator, rows: tuple[float, float], n: int) -> None:
    """Bake parked cars and box stacks into the world."""
    w = stage.world.shape[1]
    for _ in range(n):
        x, y = float(rng.uniform(0.05, 0.95)) * w, float(rng.uniform(*rows))
        size = stage.scale_at[0] + stage.scale_at[1] * y
        if rng.random() < 0.5:
            colour = tuple(int(c) for c in rng.uniform(40, 200, 3))
            draw_car(stage.world, x, y, size * 2.2, colour, 1 if rng.random() < 0.5 else -1, 0.0)  # type: ignore[arg-type]
        else:
            draw_boxes(stage.world, rng, x, y, size * 0.35)


def pan(rng: np.random.Generator, w: int, h: int, d: float, fps: int) -> Stage:
    """A camera panning over a yard twice as wide as its view, to and fro, with a tilt."""
    ww, wh = int(2.2 * w), int(1.2 * h)
    stage = yard(rng, ww, wh)
    _clutter(stage, rng, (0.5 * wh, 0.62 * wh), 5)
    walkers(stage, rng, ww, (0.55 * wh, 0.95 * wh), d, (1.5, 3.0))
    hgt = stage.scale_at[0] + stage.scale_at[1] * 0.8 * wh
    _car(
        stage,
        [(0.15 * d, -2 * hgt), (0.75 * d, ww + 2 * hgt)],
        0.8 * wh,
        2.2 * hgt,
        (150, 150, 160),
    )
    stage.view = lambda t, _i: view_matrix(*pan_centre(t, d, ww, w, h), 1.0, w, h)
    return stage


def zoom(rng: np.random.Generator, w: int, h: int, d: float, fps: int) -> Stage:
    """A camera zooming in towards a spot of a hall (x1.9), out, and partly in again."""
    ww, wh = int(1.1 * w), int(1.1 * h)
    stage = hall(rng, ww, wh)
    _clutter(stage, rng, (0.45 * wh, 0.6 * wh), 4)
    walkers(stage, rng, ww, (0.5 * wh, 0.95 * wh), d, (2.0, 3.5))
    target = (float(rng.uniform(0.35, 0.65)) * ww, float(rng.uniform(0.45, 0.65)) * wh)

    def view(t: float, _i: int) -> np.ndarray:
        z = zoom_factor(t, d)
        k = (z - 1.0) / 0.9
        cx = ww / 2 + (target[0] - ww / 2) * k
        cy = wh / 2 + (target[1] - wh / 2) * k
        return view_matrix(cx, cy, z * 1.0, w, h)

    stage.view = view
    return stage


def shake(rng: np.random.Generator, w: int, h: int, d: float, fps: int) -> Stage:
    """A camera on a pole in the wind: a few px of jitter (and roll) at 5-15 Hz, in gusts."""
    ww, wh = w + 48, h + 48
    stage = yard(rng, ww, wh)
    _clutter(stage, rng, (0.5 * wh, 0.65 * wh), 4)
    walkers(stage, rng, ww, (0.55 * wh, 0.95 * wh), d)
    jitter = shake_offsets(rng, max(1, round(d * fps)) + 1, fps)

    def view(_t: float, i: int) -> np.ndarray:
        dx, dy, roll = jitter[min(i, len(jitter) - 1)]
        return view_matrix(ww / 2 + dx, wh / 2 + dy, 1.0, w, h, roll)

    stage.view = view
    return stage


def exposure(rng: np.random.Generator, w: int, h: int, d: float, fps: int) -> Stage:
    """Auto-exposure stepping and ramping the whole frame's gain by 20-40 % several times."""
    stage = hall(rng, w, h)
    _clutter(stage, rng, (0.45 * h, 0.6 * h), 3)
    walkers(stage, rng, w, (0.5 * h, 0.95 * h), d)
    stage.post = lambda img, t: img * exposure_gain(t, d)
    return stage


def edges(rng: np.random.Generator, w: int, h: int, d: float, fps: int) -> Stage:
    """People entering and leaving at every edge of a high camera's view, cut by the border:
    one walks up from the bottom edge (upper body first), one stands half out at the right."""
    stage = overhead(rng, w, h)

    def tall(y: float) -> float:
        return stage.scale_at[0] + stage.scale_at[1] * y

    hb = tall(h)
    tracks = [
        [
            (0.02 * d, -0.3 * hb, 0.55 * h),
            (0.3 * d, 0.5 * w, 0.6 * h),
            (0.5 * d, w + 0.3 * hb, 0.62 * h),
        ],
        [(0.1 * d, w + 0.3 * hb, 0.35 * h), (0.55 * d, -0.3 * hb, 0.4 * h)],
        [(0.12 * d, 0.35 * w, -0.02 * h), (0.7 * d, 0.4 * w, h + tall(1.8 * h))],
        [(0.3 * d, 0.7 * w, h + hb + 5), (0.97 * d, 0.62 * w, -5.0)],
        [
            (0.4 * d, w + 0.25 * hb, 0.7 * h),
            (0.5 * d, w - 0.02 * hb, 0.7 * h),
            (0.75 * d, w - 0.02 * hb, 0.71 * h),
            (0.85 * d, w + 0.3 * hb, 0.7 * h),
        ],
        [
            (0.6 * d, -0.3 * hb, 1.08 * h),
            (0.8 * d, 0.45 * w, 1.06 * h),
            (0.98 * d, -0.3 * hb, 1.1 * h),
        ],
    ]
    for pts in tracks:
        stage.person(look(rng), Track(pts))
    return stage


def _sit_track(
    x_from: float,
    x_seat: float,
    x_to: float,
    y: float,
    arrive: float,
    sit_s: float,
    stand: float,
    leave: float,
    speed: float,
) -> Track:
    """Walk to a seat, sit down over ``sit_s`` s, stand up at ``stand`` and walk off."""
    start = max(0.0, arrive - abs(x_seat - x_from) / speed)
    pts = [(start, x_from, y), (arrive, x_seat, y), (stand + 1.0, x_seat, y), (leave, x_to, y)]
    sit = [(arrive, 0.0), (arrive + sit_s, 1.0), (stand, 1.0), (stand + 0.9, 0.0)]
    return Track(pts, sit=sit)


def sit(rng: np.random.Generator, w: int, h: int, d: float, fps: int) -> Stage:
    """People sitting down on a bench and a chair (one drops onto it in half a second) and
    standing up again; another sits down and stays."""
    stage = yard(rng, w, h)
    walkers(stage, rng, w, (0.45 * h, 0.6 * h), d, (3.0, 6.0))
    yb, yc = 0.72 * h, 0.84 * h
    hb, hc = (stage.scale_at[0] + stage.scale_at[1] * y for y in (yb, yc))
    stage.prop(yb - 1, lambda img, _t: draw_bench(img, 0.18 * w, 0.5 * w, yb, 0.265 * hb))
    stage.prop(yc - 1, lambda img, _t: draw_chair(img, 0.75 * w, yc, 0.265 * hc, -1))
    a = _sit_track(-0.2 * w, 0.3 * w, w * 1.2, yb, 0.15 * d, 1.2, 0.45 * d, 0.7 * d, 0.15 * w)
    b = _sit_track(w * 1.2, 0.75 * w, -0.2 * w, yc, 0.3 * d, 0.5, 0.62 * d, 0.95 * d, 0.15 * w)
    c = _sit_track(-0.2 * w, 0.42 * w, 0.42 * w, yb + 2, 0.62 * d, 1.5, 2 * d, 2 * d + 1, 0.15 * w)
    stage.person(look(rng), a)
    stage.person(Look((40, 40, 170), (50, 50, 50), (90, 120, 170), long_sleeves=False), b)
    stage.person(look(rng), c)
    return stage


def _bench_at(x0: float, x1: float, y: float, seat_h: float) -> Callable[[np.ndarray, float], None]:
    """Draw a bench from ``x0`` to ``x1`` on row ``y`` (a prop's draw function)."""
    return lambda img, _t: draw_bench(img, x0, x1, y, seat_h)


def bench(rng: np.random.Generator, w: int, h: int, d: float, fps: int) -> Stage:
    """A person sits on a bench and lies down on it slowly (over 4 s), then rests; another
    does so on a far bench over 3 s. Neither is a fall."""
    stage = hall(rng, w, h) if rng.random() < 0.5 else yard(rng, w, h)
    walkers(stage, rng, w, (0.45 * h, 0.95 * h), d, (3.0, 6.0))
    for y, x_hip, arrive, lie_at, lie_s in (
        (0.76 * h, 0.42 * w, 0.1 * d, 0.3 * d, 4.0),
        (0.56 * h, 0.72 * w, 0.4 * d, 0.6 * d, 3.0),
    ):
        hgt = stage.scale_at[0] + stage.scale_at[1] * y
        x0, x1 = x_hip - 0.55 * hgt, x_hip + 0.6 * hgt
        stage.prop(y - 1, _bench_at(x0, x1, y, 0.265 * hgt))
        lie_s = min(lie_s, 0.25 * d)
        start = max(0.0, arrive - abs(x_hip + 0.4 * hgt) / (0.7 * hgt))
        track = Track(
            [(start, -0.4 * hgt, y + 1), (arrive, x_hip, y + 1), (d + 1, x_hip, y + 1)],
            sit=[(arrive, 0.0), (arrive + 1.5, 1.0)],
            lie=[(lie_at, 0.0), (lie_at + lie_s, 1.0)],
        )
        stage.person(look(rng), track)
    return stage


def orange(rng: np.random.Generator, w: int, h: int, d: float, fps: int) -> Stage:
    """Red and orange things that move: a worker in an orange vest, a red car, an orange
    ball bouncing, an orange flag flapping."""
    stage = yard(rng, w, h)
    walkers(stage, rng, w, (0.5 * h, 0.9 * h), d, (3.0, 6.0))
    vest = Look((10, 120, 250), (60, 50, 40), (80, 110, 160), vest=True)
    y = 0.8 * h
    stage.person(
        vest,
        Track(
            [(0.0, 0.1 * w, y), (0.3 * d, 0.45 * w, y), (0.5 * d, 0.45 * w, y + 1), (d, 0.9 * w, y)]
        ),
    )
    hc = stage.scale_at[0] + stage.scale_at[1] * 0.62 * h
    _car(stage, [(0.1 * d, -1.5 * hc), (0.45 * d, w + 1.5 * hc)], 0.62 * h, 2.2 * hc, (30, 30, 190))
    _car(stage, [(0.55 * d, w + 1.5 * hc), (0.9 * d, -1.5 * hc)], 0.66 * h, 2.2 * hc, (20, 60, 200))
    ground, r = 0.9 * h, 0.03 * h

    def ball(img: np.ndarray, t: float) -> None:
        u = t / d
        bounce = abs(math.sin(math.pi * t / max(0.6, 0.08 * d)))
        height = 0.25 * h * bounce * (1.0 - 0.6 * (u % 0.5) / 0.5)
        draw_ball(img, w * (0.05 + 0.9 * u), ground - r - height, ground, r)

    stage.prop(ground, ball)
    stage.prop(
        0.0,
        lambda img, t: draw_flag(
            img, 0.82 * w, 0.05 * h, 0.12 * h, t, 0.5 + 0.5 * math.sin(t * 0.7)
        ),
    )
    return stage


SCENES: dict[str, Builder] = {
    "pan": pan,
    "zoom": zoom,
    "shake": shake,
    "exposure": exposure,
    "edges": edges,
    "sit": sit,
    "bench": bench,
    "orange": orange,
}
