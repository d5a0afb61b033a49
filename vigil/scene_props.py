"""Props of the hard generated scenes: cars, benches, a ball, a flag, beacons, lights, a sign."""

from __future__ import annotations

import math

import cv2
import numpy as np

from vigil.scene_draw import Colour, draw_shadow

AMBER: Colour = (0, 150, 255)


def _p(x: float, y: float) -> tuple[int, int]:
    return round(x), round(y)


def add_glow(
    img: np.ndarray, centre: tuple[float, float], radius: float, colour: Colour, gain: float
) -> None:
    """Add a soft round glow of ``colour`` (BGR, 0-255 scale) to ``img`` around ``centre``."""
    r = max(2, int(radius * 3))
    cx, cy = int(centre[0]), int(centre[1])
    x0, y0, x1, y1 = (
        max(0, cx - r),
        max(0, cy - r),
        min(img.shape[1], cx + r),
        min(img.shape[0], cy + r),
    )
    if x1 <= x0 or y1 <= y0:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    d2 = ((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2) / (radius * radius)
    fall = np.exp(-d2)[..., None] * gain
    img[y0:y1, x0:x1] += fall * np.array(colour, np.float32)


def draw_car(
    img: np.ndarray, x: float, y: float, length: float, colour: Colour, facing: int, rolled: float
) -> None:
    """A side-view car with its wheels on row ``y``, centred on ``x``; ``rolled`` px turns the
    wheels."""
    L, f = length, facing
    draw_shadow(img, x, y, 0.55 * L, 0.5)
    body = np.array(
        [
            _p(x - f * 0.5 * L, y - 0.08 * L),
            _p(x - f * 0.5 * L, y - 0.2 * L),
            _p(x - f * 0.25 * L, y - 0.22 * L),
            _p(x - f * 0.17 * L, y - 0.33 * L),
            _p(x + f * 0.12 * L, y - 0.33 * L),
            _p(x + f * 0.24 * L, y - 0.22 * L),
            _p(x + f * 0.49 * L, y - 0.18 * L),
            _p(x + f * 0.5 * L, y - 0.08 * L),
        ],
        np.int32,
    )
    cv2.fillPoly(img, [body], colour, cv2.LINE_AA)
    dark = tuple(int(c * 0.6) for c in colour)
    cv2.line(img, _p(x - f * 0.5 * L, y - 0.13 * L), _p(x + f * 0.5 * L, y - 0.13 * L), dark, 2)
    glass = np.array(
        [
            _p(x - f * 0.22 * L, y - 0.225 * L),
            _p(x - f * 0.155 * L, y - 0.31 * L),
            _p(x + f * 0.11 * L, y - 0.31 * L),
            _p(x + f * 0.2 * L, y - 0.225 * L),
        ],
        np.int32,
    )
    cv2.fillPoly(img, [glass], (70, 60, 50), cv2.LINE_AA)
    cv2.line(img, _p(x - f * 0.02 * L, y - 0.31 * L), _p(x - f * 0.02 * L, y - 0.225 * L), dark, 2)
    cv2.rectangle(
        img,
        _p(x + f * 0.47 * L, y - 0.17 * L),
        _p(x + f * 0.5 * L, y - 0.15 * L),
        (200, 230, 240),
        -1,
    )
    cv2.rectangle(
        img,
        _p(x - f * 0.5 * L, y - 0.18 * L),
        _p(x - f * 0.48 * L, y - 0.15 * L),
        (30, 30, 180),
        -1,
    )
    for wx in (x - 0.32 * L, x + 0.32 * L):
        r = 0.075 * L
        cv2.circle(img, _p(wx, y - r), int(r), (25, 25, 28), -1, cv2.LINE_AA)
        cv2.circle(img, _p(wx, y - r), int(r * 0.55), (150, 150, 155), -1, cv2.LINE_AA)
        a = rolled / max(r, 1.0) * f
        cv2.line(
            img,
            _p(wx, y - r),
            _p(wx + r * 0.5 * math.cos(a), y - r + r * 0.5 * math.sin(a)),
            (60, 60, 60),
            2,
        )


def draw_bench(img: np.ndarray, x0: float, x1: float, y: float, seat_h: float) -> None:
    """A wooden park bench from ``x0`` to ``x1`` standing on row ``y``, seat ``seat_h`` px up."""
    wood, iron = (50, 90, 130), (40, 40, 45)
    sy = y - seat_h
    for lx in (x0 + 6, x1 - 6):
        cv2.line(img, _p(lx, sy), _p(lx, y), iron, 3)
    for k in range(3):
        cv2.rectangle(img, _p(x0, sy - 2 - k * 4), _p(x1, sy + 1 - k * 4), wood, -1)
    for k in range(2):
        top = sy - seat_h * (0.55 + 0.3 * k)
        cv2.rectangle(img, _p(x0, top), _p(x1, top + max(3, seat_h * 0.12)), wood, -1)
    cv2.line(img, _p(x0 + 6, sy), _p(x0 + 6, sy - seat_h * 0.9), iron, 3)
    cv2.line(img, _p(x1 - 6, sy), _p(x1 - 6, sy - seat_h * 0.9), iron, 3)


def draw_chair(img: np.ndarray, x: float, y: float, seat_h: float, facing: int) -> None:
    """A plastic chair centred on ``x`` standing on row ``y`` (back on the side away from
    ``facing``)."""
    c = (170, 120, 60)
    w = seat_h * 0.9
    sy = y - seat_h
    cv2.rectangle(img, _p(x - w / 2, sy - 3), _p(x + w / 2, sy + 2), c, -1)
    for lx in (x - w / 2 + 2, x + w / 2 - 2):
        cv2.line(img, _p(lx, sy), _p(lx, y), (90, 70, 40), 3)
    bx = x - facing * w / 2
    cv2.line(img, _p(bx, sy), _p(bx - facing * 4, sy - seat_h * 0.9), c, 5)


def draw_boxes(img: np.ndarray, rng: np.random.Generator, x: float, y: float, size: float) -> None:
    """A stack of cardboard boxes standing on row ``y``."""
    for i in range(3):
        w = size * float(rng.uniform(0.7, 1.1))
        h = size * float(rng.uniform(0.5, 0.8))
        bx = x + float(rng.uniform(-0.2, 0.2)) * size
        tone = (70, 120, 160) if i % 2 else (60, 105, 145)
        cv2.rectangle(img, _p(bx - w / 2, y - h), _p(bx + w / 2, y), tone, -1)
        cv2.rectangle(img, _p(bx - w / 2, y - h), _p(bx + w / 2, y), (40, 70, 90), 1)
        cv2.line(img, _p(bx, y - h), _p(bx, y - h * 0.6), (150, 175, 190), 3)
        y -= h


def draw_ball(img: np.ndarray, x: float, y: float, ground: float, r: float) -> None:
    """An orange ball centred at ``(x, y)`` with its shadow on row ``ground``."""
    draw_shadow(img, x, ground, r * 1.2, 0.45 * max(0.2, 1 - (ground - y) / (8 * r)))
    cv2.circle(img, _p(x, y), int(r), (10, 100, 235), -1, cv2.LINE_AA)
    cv2.circle(img, _p(x + r * 0.25, y + r * 0.25), int(r * 0.7), (5, 70, 190), -1, cv2.LINE_AA)
    cv2.circle(
        img, _p(x - r * 0.35, y - r * 0.35), max(1, int(r * 0.25)), (140, 210, 255), -1, cv2.LINE_AA
    )


def draw_flag(
    img: np.ndarray, pole_x: float, top: float, size: float, t: float, gust: float
) -> None:
    """An orange flag on a pole, flapping: a travelling wave whose slope shades the cloth."""
    cv2.line(img, _p(pole_x, top - 4), _p(pole_x, top + size * 3.2), (170, 170, 170), 3)
    n, fl, fh = 14, size * 1.5, size
    amp = size * (0.08 + 0.12 * gust)
    for i in range(n):
        u0, u1 = i / n, (i + 1) / n
        ph0 = 6.0 * u0 - 9.0 * t
        ph1 = 6.0 * u1 - 9.0 * t
        dy0, dy1 = amp * u0 * math.sin(ph0), amp * u1 * math.sin(ph1)
        shade = 0.75 + 0.25 * math.cos(ph0)
        quad = np.array(
            [
                _p(pole_x + fl * u0 * (1 - 0.1 * gust * u0), top + dy0),
                _p(pole_x + fl * u1 * (1 - 0.1 * gust * u1), top + dy1),
                _p(pole_x + fl * u1 * (1 - 0.1 * gust * u1), top + fh + dy1 - 0.15 * fh * u1),
                _p(pole_x + fl * u0 * (1 - 0.1 * gust * u0), top + fh + dy0 - 0.15 * fh * u0),
            ],
            np.int32,
        )
        colour = (15 * shade, 120 * shade, 250 * shade)
        if math.cos(ph0) > 0.85:  # a sunlit fold: a glossy, nearly white highlight
            colour = (140.0, 215.0, 255.0)
        cv2.fillPoly(img, [quad], colour, cv2.LINE_AA)


def draw_beacon(img: np.ndarray, x: float, y: float, r: float, t: float, rps: float) -> float:
    """A rotating amber beacon (dome on a post top at ``(x, y)``); returns its beam's
    brightness towards the camera (0-1)."""
    cv2.rectangle(img, _p(x - r, y), _p(x + r, y + r * 0.5), (40, 40, 40), -1)
    toward = max(0.0, math.cos(2 * math.pi * rps * t)) ** 6
    dome = np.array(AMBER, np.float32) * (0.45 + 0.55 * toward)
    cv2.ellipse(img, _p(x, y), (int(r), int(r * 1.2)), 0, 180, 360, dome.tolist(), -1, cv2.LINE_AA)
    if toward > 0.05:
        add_glow(img, (x, y - r * 0.5), r * 2.5, AMBER, 1.1 * toward)
        add_glow(img, (x, y - r * 0.5), r * 0.8, (170, 230, 255), 1.2 * toward)  # saturated
    return toward


def beam_on_wall(
    img: np.ndarray, x: float, y: float, span: float, t: float, rps: float, top: int, bottom: int
) -> None:
    """The beacon's rotating beam sweeping a bright amber band across the wall rows
    ``top``-``bottom``."""
    ang = 2 * math.pi * rps * t + math.pi / 2
    if math.sin(ang) <= 0:
        return
    cx = x + span * math.cos(ang)
    w = img.shape[1]
    xs = np.arange(w, dtype=np.float32)
    band = np.exp(-(((xs - cx) / (0.06 * span)) ** 2)) * math.sin(ang)
    rows = slice(max(0, top), min(img.shape[0], bottom))
    img[rows] += band[None, :, None] * np.array(AMBER, np.float32)[None, None, :] * 0.35


def draw_blinker(img: np.ndarray, x: float, y: float, r: float, on: bool) -> None:
    """A red warning lamp: bright with a glow when ``on``, a dark red lens when off."""
    cv2.circle(img, _p(x, y), int(r * 1.4), (30, 30, 30), -1, cv2.LINE_AA)
    cv2.circle(img, _p(x, y), int(r), (40, 40, 255) if on else (20, 20, 70), -1, cv2.LINE_AA)
    if on:
        add_glow(img, (x, y), r * 2.0, (30, 30, 255), 0.9)


def draw_sign(img: np.ndarray, x: float, y: float, w: float, h: float, t: float) -> None:
    """A flashing LED road sign: chevrons that chase to the left and flash on and off."""
    cv2.rectangle(img, _p(x, y), _p(x + w, y + h), (20, 20, 20), -1)
    cv2.rectangle(img, _p(x, y), _p(x + w, y + h), (90, 90, 90), 2)
    if int(t * 2.5) % 4 == 3:  # a short dark beat between flashes
        return
    lit = int(t * 5) % 4
    for k in range(4):
        cx = x + w * (0.2 + 0.2 * k)
        on = k == lit or int(t * 2.5) % 2 == 0
        colour = (30, 160, 255) if on else (25, 45, 70)
        pts = np.array(
            [
                _p(cx + h * 0.2, y + h * 0.2),
                _p(cx - h * 0.1, y + h * 0.5),
                _p(cx + h * 0.2, y + h * 0.8),
            ],
            np.int32,
        )
        cv2.polylines(img, [pts], False, colour, max(2, int(h * 0.12)), cv2.LINE_AA)
        if on:  # the LEDs' centres saturate the sensor to a pale yellow
            cv2.polylines(img, [pts], False, (150, 225, 255), max(1, int(h * 0.04)), cv2.LINE_AA)
    add_glow(img, (x + w / 2, y + h / 2), h * 0.9, (20, 120, 255), 0.35)
