"""Generated smoke and intrusion scenes: short H.264 clips with their ground truth.

A test aid for the ``cues`` profile's smoke and intrusion cues, made like ``vigil.scene`` (its
background, figures and encoder) but staged differently:

* ``smoke``: a grey plume rises from a point on the floor, soft-edged, drifting with the wind and
  growing over about 20 s (light or dark grey, its place and the wind from the seed);
* ``smoke_negatives``: a person in grey clothes who walks and stands, a grey car that drives
  through, a haze that veils the whole frame and goes, and flat lighting that lowers the whole
  frame's contrast (steam-like);
* ``intrusion``: a person walks into the zone of :data:`INTRUSION_ZONE` and stays about 12 s, a
  second crosses it quickly, a third stands outside it the whole time. Its truth starts when
  the first person has been inside for :data:`INTRUSION_DWELL_S` (the example config's
  ``dwell_s``, ``configs/examples/intrusion-zone.yaml``) and ends when they leave.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

from vigil.scene import _background, _draw_figure, _encode, _Figure
from vigil.scene_truth import SceneTruth, TruthEvent, truth_path

SMOKE_SCENARIOS: tuple[str, ...] = ("smoke", "smoke_negatives", "intrusion")

#: The intrusion scene's zone (normalised polygon): the floor on the right.
INTRUSION_ZONE: list[tuple[float, float]] = [(0.55, 0.6), (0.97, 0.6), (0.97, 1.0), (0.55, 1.0)]
#: The dwell time the intrusion scene's truth assumes.
INTRUSION_DWELL_S = 5.0

Painter = Callable[[np.ndarray, float], None]


def _plume(rng: np.random.Generator, w: int, h: int, start_s: float) -> Painter:
    """A rising, growing, wind-drifted plume of grey puffs from a point on the floor."""
    sx = float(rng.uniform(0.3, 0.7)) * w
    sy = float(rng.uniform(0.8, 0.92)) * h
    wind = float(rng.uniform(-0.04, 0.04)) * w
    rise = float(rng.uniform(0.07, 0.1)) * h
    grey = float(rng.choice([200.0, 95.0]))
    k = h / 240.0
    qw, qh = w // 4, h // 4
    ys, xs = np.mgrid[0:qh, 0:qw].astype(np.float32)
    xs, ys = xs * 4 + 2, ys * 4 + 2
    rate = 3.0  # puffs per second
    phase = [float(v) for v in rng.uniform(0, 2 * math.pi, 200)]

    def paint(img: np.ndarray, t: float) -> None:
        if t < start_s:
            return
        dens = np.zeros((qh, qw), np.float32)
        n = int((t - start_s) * rate) + 1
        for i in range(max(0, n - 30), n):
            born = start_s + i / rate
            age = t - born
            strength = min(1.0, (born - start_s + 1.0) / 12.0)  # the fire gets going
            sigma = (5.0 + 5.0 * age) * k
            px = sx + wind * age + 6 * k * math.sin(1.3 * age + phase[i % 200])
            py = sy - rise * age
            amp = 0.45 * strength * math.exp(-age / 7.0)
            dens += amp * np.exp(-((xs - px) ** 2 + (ys - py) ** 2) / (2 * sigma * sigma))
        alpha = np.minimum(0.85, 1.0 - np.exp(-2.0 * dens))
        a = np.repeat(np.repeat(alpha, 4, axis=0), 4, axis=1)[:h, :w, None]
        a = a.astype(np.float32)
        np.multiply(img, 1.0 - a, out=img)
        img += grey * a

    return paint


def _car(w: int, h: int, start_s: float) -> Painter:
    """A grey car with hard outlines driving left to right."""
    speed = 0.22 * w

    def paint(img: np.ndarray, t: float) -> None:
        x0 = -0.45 * w + speed * (t - start_s)
        if t < start_s or x0 > w:
            return
        cw, ch = int(0.4 * w), int(0.16 * h)
        x, y = int(x0), int(0.78 * h)
        img[max(0, y - ch) : y, max(0, x) : max(0, x + cw)] = (128, 128, 130)
        top = (max(0, x + cw // 5), max(0, x + 4 * cw // 5))
        img[y - ch - ch // 2 : y - ch, top[0] : top[1]] = (118, 118, 120)
        img[y - ch - ch // 3 : y - ch, top[0] + 4 : max(top[0] + 4, top[1] - 4)] = (60, 60, 66)
        for wx in (x + cw // 5, x + 4 * cw // 5):
            if 0 <= wx < w:
                r = ch // 3
                img[y - r : y + r, max(0, wx - r) : wx + r] = (25, 25, 25)

    return paint


def _veils(w: int, h: int, haze_s: float, flat_s: float) -> Painter:
    """A haze over the whole frame (fog), then flat lighting that lowers all contrast."""
    ramp = np.linspace(0.85, 1.15, w, dtype=np.float32)[None, :, None]

    def paint(img: np.ndarray, t: float) -> None:
        u = (t - haze_s) / 8.0
        if 0 <= u <= 1:
            a = 0.55 * math.sin(math.pi * u) * ramp
            img[:] = img * (1 - a) + 190.0 * a
        v = (t - flat_s) / 6.0
        if 0 <= v <= 1:
            c = 1.0 - 0.5 * math.sin(math.pi * v)
            m = float(img.mean())
            img[:] = m + (img - m) * c + 20 * (1 - c)

    return paint


def _people(scenario: str, w: int, h: int, duration: float) -> list[_Figure]:
    """The scenario's figures (sizes scaled to the frame)."""
    k = h / 480.0
    grey = (128, 128, 128)
    if scenario == "smoke_negatives":
        return [
            _Figure(-20, 0.82 * h, 160 * k, 0.12 * w, grey, (110, 110, 110), (120, 160, 210),
                    1.0, duration, stop_at_s=5.0, stop_for_s=4.0),
        ]  # fmt: skip
    if scenario == "intrusion":
        return [
            # walks in from the right, stands in the zone for 12 s, walks on out of it
            _Figure(w + 15, 0.85 * h, 170 * k, -0.08 * w, (160, 80, 30), (40, 40, 40),
                    (80, 110, 160), 2.0, duration, stop_at_s=5.8, stop_for_s=12.0),
            # crosses the zone quickly
            _Figure(-20, 0.9 * h, 175 * k, 0.3 * w, (40, 40, 200), (60, 40, 20),
                    (60, 90, 140), 21.0, duration),
            # walks in and stands outside the zone the whole time
            _Figure(-20, 0.72 * h, 150 * k, 0.1 * w, (60, 140, 60), (90, 90, 110),
                    (120, 160, 210), 0.5, duration, stop_at_s=2.8, stop_for_s=duration),
        ]  # fmt: skip
    return []


def _truth(scenario: str, w: int, duration: float, start_s: float) -> list[TruthEvent]:
    """The events the scenario stages."""
    if scenario == "smoke":
        return [TruthEvent("smoke", round(start_s + 5.0, 2), duration)]
    if scenario == "intrusion":
        # the first figure's ground point crosses x = 0.97 w, stops, leaves at x = 0.55 w
        speed = 0.08 * w
        enter = 2.0 + (w + 15 - 0.97 * w) / speed
        leave = 2.0 + (w + 15 - 0.55 * w) / speed + 12.0
        return [TruthEvent("intrusion", round(enter + INTRUSION_DWELL_S, 2), round(leave, 2))]
    return []


def generate_smoke_scene(
    out: str | Path,
    *,
    scenario: str = "smoke",
    seed: int = 0,
    duration_s: float = 30.0,
    fps: int = 12,
    width: int = 320,
    height: int = 240,
) -> SceneTruth:
    """Write a smoke, smoke-negatives or intrusion scene to ``out`` and its truth beside it."""
    if scenario not in SMOKE_SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of {SMOKE_SCENARIOS}")
    out = Path(out)
    rng = np.random.default_rng(seed)
    bg = _background(rng, width, height)
    start_s = 6.0
    painters: list[Painter] = []
    if scenario == "smoke":
        painters.append(_plume(rng, width, height, start_s))
    elif scenario == "smoke_negatives":
        painters += [_car(width, height, 10.0), _veils(width, height, 17.0, 27.0)]
    figs = _people(scenario, width, height, duration_s)
    noise_rng = np.random.default_rng(seed + 1)
    noise = noise_rng.normal(0, 3.0, (8, height, width, 3)).astype(np.float32)
    container = av.open(str(out), mode="w")
    try:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "23", "preset": "veryfast", "g": str(fps * 2), "bf": "0"}
        for i in range(round(duration_s * fps)):
            t = i / fps
            img = bg.copy()
            for fig in figs:
                _draw_figure(img, fig, t, width)
            for paint in painters:
                paint(img, t)
            img *= 1.0 + 0.04 * math.sin(2 * math.pi * t / 30.0)
            img += noise[int(noise_rng.integers(len(noise)))]
            _encode(container, stream, np.clip(img, 0, 255).astype(np.uint8))
        for packet in stream.encode():
            container.mux(packet)
    finally:
        container.close()
    events = _truth(scenario, width, duration_s, start_s)
    truth = SceneTruth(scenario, seed, duration_s, fps, width, height, events)
    truth_path(out).write_text(truth.to_json(), encoding="utf-8")
    return truth
