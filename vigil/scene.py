"""Generated sample scenes: a deterministic H.264 clip and its ground truth.

A test aid and the demo's input, not the target: detectors are judged on real footage. The
scene has a textured background with sensor noise and lighting changes, a static orange object,
person-like figures that walk, stand and bend (some in red and orange clothing), and, in the
``demo`` scenario, one figure that falls and then lies still and a fire that grows and flickers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import av
import cv2
import numpy as np

from vigil.scene_truth import SceneTruth as SceneTruth
from vigil.scene_truth import TruthEvent as TruthEvent
from vigil.scene_truth import load_truth as load_truth
from vigil.scene_truth import truth_path as truth_path

Scenario = Literal["demo", "walking"]
SCENARIOS: tuple[str, ...] = ("demo", "walking")

_SKIN = [(80, 110, 160), (60, 90, 140), (120, 160, 210), (40, 60, 100)]
_SHIRTS = [
    (40, 40, 200),  # red
    (0, 120, 250),  # orange
    (160, 80, 30),  # blue
    (60, 140, 60),  # green
    (200, 200, 200),  # white
    (50, 50, 50),  # black
    (30, 150, 230),  # orange-yellow
]
_PANTS = [(60, 40, 20), (40, 40, 40), (90, 90, 110), (20, 20, 60)]


@dataclass
class _Figure:
    """A person-like figure: feet position, size, colours and a script of actions."""

    x: float
    y: float
    height: float
    speed_px_s: float
    shirt: tuple[int, int, int]
    pants: tuple[int, int, int]
    skin: tuple[int, int, int]
    start_s: float
    end_s: float
    bend_at_s: float | None = None
    sit_at_s: float | None = None
    fall_at_s: float | None = None
    fall_dir: int = 1
    stop_at_s: float | None = None
    stop_for_s: float = 0.0


def _background(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A textured warehouse-like background (float32 BGR)."""
    low_small = rng.normal(0, 1, (h // 16 + 1, w // 16 + 1, 3)).astype(np.float32)
    low = cv2.resize(low_small, (w, h), interpolation=cv2.INTER_CUBIC)
    fine_small = rng.normal(0, 1, (h // 2, w // 2, 3)).astype(np.float32)
    fine = cv2.resize(fine_small, (w, h), interpolation=cv2.INTER_LINEAR)
    base = np.empty((h, w, 3), np.float32)
    wall = np.array([118, 120, 112], np.float32)
    floor = np.array([92, 98, 104], np.float32)
    horizon = int(h * 0.45)
    base[:horizon] = wall
    ramp = np.linspace(0.9, 1.15, h - horizon, dtype=np.float32)[:, None, None]
    base[horizon:] = floor * ramp
    img = base + low * 10 + fine * 5
    # shelves, a door and a window-like panel
    for _ in range(5):
        x0 = int(rng.integers(0, w - 80))
        y0 = int(rng.integers(20, horizon - 60))
        ww, hh = int(rng.integers(40, 140)), int(rng.integers(30, 90))
        colour = rng.uniform(50, 170, 3)
        img[y0 : y0 + hh, x0 : x0 + ww] = img[y0 : y0 + hh, x0 : x0 + ww] * 0.4 + colour * 0.6
        cv2.rectangle(img, (x0, y0), (x0 + ww, y0 + hh), (40, 40, 40), 2)
    # a static orange traffic cone: fire-coloured but never flickering
    cx, cy = int(w * 0.12), int(h * 0.86)
    cone = np.array([[cx - 14, cy], [cx + 14, cy], [cx + 3, cy - 40], [cx - 3, cy - 40]], np.int32)
    cv2.fillPoly(img, [cone], (20, 110, 250))
    cv2.line(img, (cx - 9, cy - 16), (cx + 9, cy - 16), (235, 235, 235), 4)
    return img


def _rot(points: np.ndarray, angle: float, origin: tuple[float, float]) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    ox, oy = origin
    p = points - np.array([ox, oy])
    return np.stack([p[:, 0] * c - p[:, 1] * s, p[:, 0] * s + p[:, 1] * c], axis=1) + [ox, oy]


def _walk(fig: _Figure, t: float) -> tuple[float, bool]:
    """Seconds of walking done by time t (stops and a fall hold it), and whether it walks."""
    walk_t = t - fig.start_s
    if fig.stop_at_s is not None and t > fig.stop_at_s:
        walk_t -= min(fig.stop_for_s, t - fig.stop_at_s)
    if fig.fall_at_s is not None and t > fig.fall_at_s:
        walk_t = fig.fall_at_s - fig.start_s
    walking = True
    if fig.stop_at_s is not None and fig.stop_at_s < t < fig.stop_at_s + fig.stop_for_s:
        walking = False
    if fig.fall_at_s is not None and t > fig.fall_at_s:
        walking = False
    return walk_t, walking


def _posture(fig: _Figure, t: float) -> tuple[float, float, float]:
    """Body angle of a fall (about the feet), torso bend (about the hips) and squat at t."""
    body_angle = 0.0
    if fig.fall_at_s is not None and t > fig.fall_at_s:
        k = min(1.0, (t - fig.fall_at_s) / 0.7)
        k = k * k  # accelerating, like gravity
        body_angle = fig.fall_dir * k * (math.pi / 2 - 0.05)
    bend = 0.0
    for at, depth in ((fig.bend_at_s, 1.25), (fig.sit_at_s, 0.0)):
        if at is not None and at <= t <= at + 3.0 and depth > 0:
            u = (t - at) / 3.0
            bend = depth * math.sin(math.pi * u) ** 0.6
    squat = 0.0
    if fig.sit_at_s is not None and fig.sit_at_s <= t <= fig.sit_at_s + 6.0:
        u = (t - fig.sit_at_s) / 6.0
        squat = 0.35 * min(1.0, math.sin(math.pi * u) * 1.6)
    return body_angle, bend, squat


def _draw_figure(img: np.ndarray, fig: _Figure, t: float, w: int) -> None:
    """Draw one figure at time t (feet at (x, y); y grows downwards)."""
    if not (fig.start_s <= t <= fig.end_s):
        return
    hgt = fig.height
    # walking position, with an optional stop
    walk_t, walking = _walk(fig, t)
    x = fig.x + fig.speed_px_s * walk_t
    y = fig.y
    phase = walk_t * 2 * math.pi * 1.8
    swing = 0.35 * math.sin(phase) if walking and fig.speed_px_s != 0 else 0.0
    body_angle, bend, squat = _posture(fig, t)
    pts = _joints(fig, x, y, swing, bend, squat)
    if body_angle:
        pts = _rot(pts, body_angle, (x, y))
    hip_p, sh_p, head_p, ll_p, lr_p = (tuple(int(v) for v in p) for p in pts)
    thick_leg = max(3, int(0.09 * hgt))
    thick_body = max(5, int(0.2 * hgt))
    cv2.line(img, hip_p, ll_p, fig.pants, thick_leg, cv2.LINE_AA)
    cv2.line(img, hip_p, lr_p, fig.pants, thick_leg, cv2.LINE_AA)
    cv2.line(img, hip_p, sh_p, fig.shirt, thick_body, cv2.LINE_AA)
    arm_swing = -swing
    arm_end = np.array(sh_p, float) + [
        0.3 * hgt * math.sin(arm_swing),
        0.3 * hgt * math.cos(arm_swing),
    ]
    if body_angle:
        arm_end = _rot(arm_end[None], body_angle, np.array(sh_p, float)).ravel()  # type: ignore[arg-type]
    cv2.line(
        img, sh_p, tuple(int(v) for v in arm_end), fig.shirt, max(3, int(0.06 * hgt)), cv2.LINE_AA
    )
    cv2.circle(img, head_p, max(4, int(0.085 * hgt)), fig.skin, -1, cv2.LINE_AA)


def _joints(
    fig: _Figure, x: float, y: float, swing: float, bend: float, squat: float
) -> np.ndarray:
    """Hip, shoulder, head and the two feet, upright (before any fall's rotation)."""
    hgt = fig.height
    hip_h = 0.48 * hgt * (1 - squat)
    hip = np.array([[x, y - hip_h]])
    shoulder = np.array([[x, y - hip_h - 0.32 * hgt]])
    head = np.array([[x, y - hip_h - 0.32 * hgt - 0.11 * hgt]])
    shoulder = _rot(shoulder, fig.fall_dir * bend, (x, y - hip_h))
    head = _rot(head, fig.fall_dir * bend, (x, y - hip_h))
    leg_l = np.array([[x + 0.5 * hip_h * math.sin(swing), y]])
    leg_r = np.array([[x - 0.5 * hip_h * math.sin(swing), y]])
    if squat > 0:
        leg_l = np.array([[x + 0.25 * hgt * squat * 2, y]])
        leg_r = np.array([[x + 0.18 * hgt * squat * 2, y]])
    return np.concatenate([hip, shoulder, head, leg_l, leg_r])


def _draw_fire(
    img: np.ndarray, rng: np.random.Generator, t: float, start_s: float, base: tuple[int, int]
) -> None:
    """A flame that grows over ~20 s and flickers every frame."""
    if t < start_s:
        return
    age = t - start_s
    grow = min(1.0, 0.25 + age / 20.0)
    height = 150 * grow
    width = 110 * grow
    bx, by = base
    layers = [
        ((0, 40, 230), 1.0),
        ((0, 140, 255), 0.75),
        ((40, 220, 255), 0.5),
        ((190, 250, 255), 0.25),
    ]
    glow = np.zeros_like(img)
    n_tongues = 7
    for colour, scale in layers:
        pts: list[tuple[float, float]] = [(bx - width * scale / 2, float(by))]
        for i in range(n_tongues):
            u = (i + 0.5) / n_tongues
            env = math.sin(math.pi * u)
            tongue = height * scale * env * rng.uniform(0.55, 1.15)
            px = bx - width * scale / 2 + width * scale * u + rng.uniform(-6, 6) * scale
            pts.append((px, by - tongue))
            if i < n_tongues - 1:
                pts.append(
                    (
                        bx - width * scale / 2 + width * scale * (i + 1) / n_tongues,
                        by - tongue * rng.uniform(0.35, 0.6),
                    )
                )
        pts.append((bx + width * scale / 2, by))
        poly = np.array(pts, np.int32)
        cv2.fillPoly(img, [poly], colour, cv2.LINE_AA)
        if scale == 1.0:
            cv2.fillPoly(glow, [poly], (0, 90, 255), cv2.LINE_AA)
    glow = cv2.GaussianBlur(glow, (0, 0), 15)
    np.add(img, glow * 0.5, out=img)


def _figures(
    rng: np.random.Generator, scenario: str, w: int, h: int, duration: float
) -> list[_Figure]:
    """The scene's walkers (drawn from ``rng``), then its fixed actors."""
    return _walkers(rng, w, h, duration) + _actors(scenario, w, h, duration)


def _walkers(rng: np.random.Generator, w: int, h: int, duration: float) -> list[_Figure]:
    """A steady flow of walkers crossing in both directions at various depths."""
    Colour = tuple[int, int, int]

    def colours() -> tuple[Colour, Colour, Colour]:
        shirt = _SHIRTS[int(rng.integers(len(_SHIRTS)))]
        pants = _PANTS[int(rng.integers(len(_PANTS)))]
        skin = _SKIN[int(rng.integers(len(_SKIN)))]
        return shirt, pants, skin

    figs: list[_Figure] = []
    t = 0.5
    while t < duration - 4:
        depth = float(rng.uniform(0.6, 0.95))
        y = h * depth
        hgt = 170 * depth + float(rng.uniform(-10, 10))
        direction = 1 if rng.random() < 0.5 else -1
        speed = float(rng.uniform(45, 90)) * direction
        x0 = -30.0 if direction > 0 else w + 30.0
        cross = (w + 60) / abs(speed)
        shirt, pants, skin = colours()
        stop_at = t + cross * float(rng.uniform(0.3, 0.6)) if rng.random() < 0.35 else None
        figs.append(
            _Figure(
                x0,
                y,
                hgt,
                speed,
                start_s=t,
                end_s=min(duration, t + cross + 6),
                stop_at_s=stop_at,
                stop_for_s=float(rng.uniform(2, 5)),
                shirt=shirt,
                pants=pants,
                skin=skin,
            )
        )
        t += float(rng.uniform(3.0, 6.0))
    return figs


def _actors(scenario: str, w: int, h: int, duration: float) -> list[_Figure]:
    """The figures that bend, crouch, stand, and (in the demo) fall."""
    figs: list[_Figure] = []
    # an orange-shirted worker who walks slowly, stands and bends to pick something up
    figs.append(
        _Figure(
            w * 0.25,
            h * 0.78,
            140,
            12.0,
            (0, 120, 250),
            (40, 40, 40),
            _SKIN[1],
            2.0,
            duration,
            bend_at_s=9.0,
            stop_at_s=8.0,
            stop_for_s=5.0,
        )
    )
    # a red-shirted person who crouches down and stands up again
    figs.append(
        _Figure(
            w * 0.62,
            h * 0.70,
            125,
            -8.0,
            (40, 40, 200),
            (60, 40, 20),
            _SKIN[0],
            12.0,
            duration,
            sit_at_s=26.0,
            stop_at_s=25.0,
            stop_for_s=8.0,
        )
    )
    figs.append(
        _Figure(
            w * 0.80,
            h * 0.66,
            118,
            0.0,
            (60, 140, 60),
            (90, 90, 110),
            _SKIN[2],
            30.0,
            duration,
            bend_at_s=44.0,
        )
    )
    if scenario == "demo":
        figs.append(_faller(w, h, duration))
    return figs


def _faller(w: int, h: int, duration: float) -> _Figure:
    """The demo's figure that walks in, falls at 20 s and lies still."""
    return _Figure(
        w * 0.05,
        h * 0.92,
        150,
        55.0,
        (160, 80, 30),
        (40, 40, 40),
        _SKIN[3],
        14.0,
        duration,
        fall_at_s=20.0,
        fall_dir=-1,
    )


def _checked_request(out: str | Path, scenario: str, duration_s: float) -> Path:
    """``out`` as a path, once the scenario, its length and the output folder are fine."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    least = MIN_DURATION_S[scenario]
    if duration_s < least:
        raise ValueError(
            f"the {scenario} scenario needs at least {least:g} s (its events are placed from "
            f"20 s on), got {duration_s:g}"
        )
    out = Path(out)
    if not out.parent.is_dir():
        raise FileNotFoundError(f"folder {str(out.parent)!r} does not exist")
    return out


def _encode(container: Any, stream: Any, frame_u8: np.ndarray) -> None:
    """Encode one BGR frame and mux its packets."""
    frame = av.VideoFrame.from_ndarray(frame_u8, format="bgr24")
    for packet in stream.encode(frame):
        container.mux(packet)


def _truth_events(scenario: str, duration_s: float, fire_start: float) -> list[TruthEvent]:
    """The events the scenario stages."""
    events: list[TruthEvent] = []
    if scenario == "demo":
        # the fall event starts when the figure is down (it tips over for 0.7 s from 20 s)
        events.append(TruthEvent("fall", 20.7, duration_s))
        events.append(TruthEvent("fire", round(fire_start, 2), duration_s))
    return events


def generate_scene(
    out: str | Path,
    *,
    seed: int = 0,
    scenario: str = "demo",
    duration_s: float = 60.0,
    fps: int = 25,
    width: int = 640,
    height: int = 480,
    progress: Callable[[int, int], None] | None = None,
) -> SceneTruth:
    """Write a generated H.264 scene to ``out`` and its truth to ``OUT.truth.json``.

    ``progress(done, total)`` is called with the frames written so far.
    """
    out = _checked_request(out, scenario, duration_s)
    rng = np.random.default_rng(seed)
    bg = _background(rng, width, height)
    figs = _figures(rng, scenario, width, height, duration_s)
    fire_start = duration_s * 0.62
    fire_base = (int(width * 0.78), int(height * 0.97))
    events = _truth_events(scenario, duration_s, fire_start)
    light_switch_s = duration_s * 0.5
    noise_rng = np.random.default_rng(seed + 1)
    # a bank of sensor-noise fields, picked at random per frame (cheaper than drawing each)
    noise_bank = noise_rng.normal(0, 3.0, (12, height, width, 3)).astype(np.float32)
    fire_rng = np.random.default_rng(seed + 2)

    container = av.open(str(out), mode="w")
    try:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "23", "preset": "veryfast", "g": str(fps * 2), "bf": "0"}
        n = round(duration_s * fps)
        for i in range(n):
            if progress is not None:
                progress(i, n)
            t = i / fps
            img = bg.copy()
            # slow daylight drift, and the lights switching a step brighter half way
            gain = 1.0 + 0.06 * math.sin(2 * math.pi * t / 40.0)
            if t >= light_switch_s:
                gain *= 1.12
            for fig in sorted(figs, key=lambda f: f.y):
                _draw_figure(img, fig, t, width)
            if scenario == "demo":
                _draw_fire(img, fire_rng, t, fire_start, fire_base)
            img *= gain
            img += noise_bank[int(noise_rng.integers(len(noise_bank)))]
            _encode(container, stream, np.clip(img, 0, 255).astype(np.uint8))
        for packet in stream.encode():
            container.mux(packet)
    finally:
        container.close()
    truth = SceneTruth(scenario, seed, duration_s, fps, width, height, events)
    truth_path(out).write_text(truth.to_json(), encoding="utf-8")
    return truth


#: Shortest clip of each scenario: the demo's fall starts at 20 s and is detected ~4 s later.
MIN_DURATION_S = {"demo": 30.0, "walking": 10.0}
