"""Fire scenes drawn differently from :mod:`vigil.scene`, and fire-coloured non-fires.

The flames here are made by other methods than the demo's stacked flame polygons, so a fire cue
tuned on one is checked on the others:

* ``cone``: a tall flame whose outline is a cone displaced by multi-octave value noise that
  flickers at 2-10 Hz, its interior a temperature field textured by noise that rises, coloured
  deep red through orange to a yellow-white core; it grows over the first ten seconds.
* ``particles``: a small fire beside a car in a car park at night, drawn as rising sparks and an
  additive soft glow that grows over 30 s, orange to yellow.
* ``smoky``: a low, wide dark-orange fire under a grey smoke plume (a burning bin), drawn as
  blurred noise blobs with little pale core.

And fire-coloured scenes with no fire in them (empty events): ``sunset`` (an orange sky
gradient with slowly drifting clouds), ``brake_lights`` (a car that stops with its red brake
lights on, then drives on), ``orange_person`` (a person in orange who walks and stands) and
``beacon`` (an amber warning light flashing at 1.5 Hz with its glow).

Each clip is written as H.264 with its ground truth beside it (:mod:`vigil.scene_truth`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from vigil.scene_truth import SceneTruth, TruthEvent, truth_path

FIRE_STYLES: tuple[str, ...] = ("cone", "particles", "smoky")
NON_FIRE_STYLES: tuple[str, ...] = ("sunset", "brake_lights", "orange_person", "beacon")
FIRE_SCENARIOS: tuple[str, ...] = FIRE_STYLES + NON_FIRE_STYLES

#: Default flame palettes (BGR, cold to hot) per fire style.
PALETTES: dict[str, tuple[tuple[int, int, int], ...]] = {
    "cone": ((10, 10, 120), (0, 40, 200), (0, 130, 255), (60, 220, 255), (225, 250, 255)),
    "particles": ((0, 70, 210), (0, 140, 255), (40, 200, 255), (170, 240, 255)),
    "smoky": ((10, 30, 110), (0, 70, 190), (20, 120, 235), (90, 190, 250)),
}

Draw = Callable[[np.ndarray, float], None]


class _Noise:
    """Smooth 3-D value noise (x, y, t) sampled by trilinear interpolation of a random grid."""

    def __init__(self, rng: np.random.Generator, shape: tuple[int, int, int]) -> None:
        self.grid = rng.uniform(-1, 1, shape).astype(np.float32)

    def __call__(self, x: np.ndarray, y: np.ndarray, t: float) -> np.ndarray:
        gz, gy, gx = self.grid.shape
        xs, ys = np.mod(x, gx - 1), np.mod(y, gy - 1)
        tz = t % (gz - 1)
        z0 = int(tz)
        fz = tz - z0
        x0, y0 = xs.astype(np.int32), ys.astype(np.int32)
        fx, fy = xs - x0, ys - y0
        out = np.zeros(np.broadcast(x, y).shape, np.float32)
        for dz, wz in ((0, 1 - fz), (1, fz)):
            g = self.grid[z0 + dz]
            a = g[y0, x0] * (1 - fx) + g[y0, x0 + 1] * fx
            b = g[y0 + 1, x0] * (1 - fx) + g[y0 + 1, x0 + 1] * fx
            out += wz * (a * (1 - fy) + b * fy)
        return out

    def octaves(self, x: np.ndarray, y: np.ndarray, t: float, n: int = 3) -> np.ndarray:
        """Sum of ``n`` octaves (each twice the frequency, half the amplitude)."""
        out = np.zeros(np.broadcast(x, y).shape, np.float32)
        for k in range(n):
            f = 2.0**k
            out += self(x * f + 7.3 * k, y * f + 3.1 * k, t * f + 1.7 * k) / f
        return out


def _palette_lookup(palette: tuple[tuple[int, int, int], ...], heat: np.ndarray) -> np.ndarray:
    """BGR colours of a heat field in [0, 1] along the palette (cold to hot)."""
    cols = np.array(palette, np.float32)
    pos = np.clip(heat, 0, 1) * (len(cols) - 1)
    i0 = np.minimum(pos.astype(np.int32), len(cols) - 2)
    f = (pos - i0)[..., None]
    return np.asarray(cols[i0] * (1 - f) + cols[i0 + 1] * f, np.float32)


def _yard(rng: np.random.Generator, w: int, h: int, night: bool = False) -> np.ndarray:
    """A textured yard (wall, ground, a few boxes) as float32 BGR; darker at night."""
    low = cv2.resize(rng.normal(0, 1, (h // 12 + 1, w // 12 + 1, 3)).astype(np.float32), (w, h))
    fine = cv2.resize(rng.normal(0, 1, (h // 2, w // 2, 3)).astype(np.float32), (w, h))
    img = np.empty((h, w, 3), np.float32)
    horizon = int(h * 0.5)
    img[:horizon] = (70, 74, 80) if night else (120, 116, 110)
    img[horizon:] = (48, 50, 52) if night else (95, 100, 104)
    img += low * 9 + fine * 4
    for _ in range(4):
        x0, y0 = int(rng.integers(0, w - 60)), int(rng.integers(10, max(11, horizon - 50)))
        ww, hh = int(rng.integers(30, 90)), int(rng.integers(20, 50))
        colour = rng.uniform(40, 150, 3) * (0.5 if night else 1.0)
        img[y0 : y0 + hh, x0 : x0 + ww] = img[y0 : y0 + hh, x0 : x0 + ww] * 0.4 + colour * 0.6
    return img


def _cone(rng: np.random.Generator, w: int, h: int, ignite: float, pal: Any) -> Draw:
    """The tall textured cone flame (see the module docstring)."""
    noise = _Noise(rng, (64, 24, 24))
    bx, by = w * 0.5, h * 0.92
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)

    def draw(img: np.ndarray, t: float) -> None:
        if t < ignite:
            return
        age = t - ignite
        grow = min(1.0, 0.3 + age / 10.0)
        fh, fw = 0.7 * h * grow, 0.16 * w * (0.5 + 0.5 * grow)
        u = (by - ys) / fh  # 0 at the base, 1 at the nominal tip
        ft = t * 6.0  # noise time: 6 cells a second -> 2-10 Hz in the octaves
        sway = noise.octaves(np.zeros(1, np.float32), u[:, :1] * 3, ft * 0.4, 2)[:, :1]
        cx = bx + sway * fw * 0.35 * np.clip(u[:, :1], 0, None)
        rough = noise.octaves(xs / fw * 2.0, (ys / fh) * 4 + ft, ft, 3)
        half = fw * np.clip(1 - u, 0, 1) ** 0.6 * (1 + 0.45 * rough)
        inside = (u >= 0) & (u <= 1.25) & (np.abs(xs - cx) < half)
        tongue = rough + 0.9 - 1.6 * np.clip(u, 0, None)  # the top breaks up into tongues
        inside &= tongue > -0.15
        r = np.abs(xs - cx) / np.maximum(half, 1.0)
        heat = (1.2 - 0.8 * r**2) * (1.15 - 0.45 * np.clip(u, 0, 1)) + 0.2 * rough
        col = _palette_lookup(pal, heat)
        m = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), 1.2)[..., None]
        img[:] = img * (1 - m) + col * m
        glow = cv2.GaussianBlur(m * np.array(pal[2], np.float32), (0, 0), 18)
        img += 0.35 * glow

    return draw


def _particles(rng: np.random.Generator, w: int, h: int, ignite: float, pal: Any) -> Draw:
    """Sparks and an additive glow beside a parked car, growing over 30 s."""
    bx, by = w * 0.62, h * 0.8
    prng = np.random.default_rng(int(rng.integers(1 << 30)))
    sparks: list[list[float]] = []  # x, y, vx, vy, life, size
    last = [ignite]

    def draw(img: np.ndarray, t: float) -> None:
        cv2.rectangle(
            img, (int(w * 0.2), int(h * 0.62)), (int(w * 0.55), int(h * 0.82)), (60, 50, 45), -1
        )
        if t < ignite:
            return
        grow = min(1.0, 0.15 + (t - ignite) / 30.0)
        dt = t - last[0]
        last[0] = t
        for s in sparks:
            s[0] += s[2] * dt + prng.normal(0, 1.5)
            s[1] += s[3] * dt
            s[4] -= dt
        sparks[:] = [s for s in sparks if s[4] > 0]
        spread = 0.09 * w * grow
        for _ in range(int(30 * grow) + 2):
            sparks.append(
                [
                    bx + prng.normal(0, spread * 0.5),
                    by - prng.uniform(0, 4),
                    prng.normal(0, 8),
                    -prng.uniform(20, 70) * (0.5 + grow),
                    prng.uniform(0.2, 1.0),
                    prng.uniform(0.8, 1.5 + 3 * grow),
                ]
            )
        layer = np.zeros_like(img)
        for x, y, _vx, _vy, life, size in sparks:
            heat = min(1.0, 0.3 + life)
            col = _palette_lookup(pal, np.array([heat], np.float32))[0]
            cv2.circle(layer, (int(x), int(y)), max(1, int(size * life + 0.5)), col.tolist(), -1)
        body = cv2.GaussianBlur(layer, (0, 0), 2.0)
        glow = np.zeros_like(img)
        g = 0.6 + 0.4 * prng.random()
        cv2.circle(glow, (int(bx), int(by - spread * 0.6)), int(spread * 1.3 + 4), pal[1], -1)
        glow = cv2.GaussianBlur(glow, (0, 0), spread * 0.6 + 3) * g
        img += 0.8 * glow + np.maximum(layer, body * 1.4)

    return draw


#: Seconds after ignition from which the smoky fire's plume counts as smoke.
SMOKE_AFTER_S = 4.5


def _smoky(rng: np.random.Generator, w: int, h: int, ignite: float, pal: Any) -> Draw:
    """A low, wide dark-orange fire of blurred noise blobs under a grey plume."""
    noise = _Noise(rng, (64, 20, 20))
    bx, by = w * 0.35, h * 0.85
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)

    def draw(img: np.ndarray, t: float) -> None:
        if t < ignite:
            return
        grow = min(1.0, 0.35 + (t - ignite) / 15.0)
        fw, fh = 0.22 * w * grow, 0.22 * h * grow
        dx, dy = (xs - bx) / fw, (by - ys) / fh
        ft = t * 4.0
        n = noise.octaves(xs / 25.0, ys / 20.0 + ft, ft, 3)
        heat = 1.0 - dx * dx - dy * 1.2 + 0.6 * n
        heat = np.where(dy < -0.05, -1.0, heat)
        m = cv2.GaussianBlur(np.clip(heat * 3, 0, 1).astype(np.float32), (0, 0), 1.5)[..., None]
        col = _palette_lookup(pal, heat * 0.8)
        smoke_d = np.clip(1.2 - ((xs - bx) / (fw * 1.6)) ** 2 - (by - fh - ys) / (h * 0.6), 0, 1)
        smoke_d *= np.clip((by - fh * 0.8 - ys) / fh, 0, 1) * (0.6 + 0.3 * n)
        s = np.clip(smoke_d, 0, 0.85)[..., None]
        img[:] = img * (1 - s) + np.array((105, 105, 108), np.float32) * s
        img[:] = img * (1 - m) + col * m

    return draw


def _sunset(rng: np.random.Generator, w: int, h: int) -> Draw:
    """An orange-to-purple sky with a low sun and slowly drifting clouds above a dark ground."""
    noise = _Noise(rng, (8, 12, 24))
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    horizon = int(h * 0.7)
    v = (ys / horizon)[..., None]
    top, low = np.array((110, 60, 90), np.float32), np.array((20, 110, 250), np.float32)
    sky = top * (1 - v) + low * v
    sun = np.exp(-(((xs - w * 0.6) ** 2 + (ys - horizon + 12) ** 2) / (2 * 18.0**2)))[..., None]
    sky = sky + sun * np.array((120, 140, 40), np.float32)

    def draw(img: np.ndarray, t: float) -> None:
        cloud = noise.octaves(xs / 90.0 + t * 0.03, ys / 35.0, 0.0, 3)
        c = np.clip((cloud - 0.1) * 2.0, 0, 0.8)[..., None]
        s = sky * (1 - c) + np.array((60, 60, 80), np.float32) * c
        img[:horizon] = s[:horizon]
        img[horizon:] = (25, 28, 30)

    return draw


def _brake_lights(rng: np.random.Generator, w: int, h: int) -> Draw:
    """A car seen from behind that drives in, stops with red brake lights, and drives on."""
    y = h * 0.7

    def x_at(t: float) -> tuple[float, bool]:
        cycle = t % 12.0  # drive 3 s, stop 5 s, drive 4 s (the car comes back each cycle)
        if cycle < 3:
            return w * (0.1 + 0.1 * cycle), True
        if cycle < 8:
            return w * 0.4, True
        return w * (0.4 + 0.1 * (cycle - 8)), False

    def draw(img: np.ndarray, t: float) -> None:
        x, braking = x_at(t)
        braking = braking and (t % 12.0) > 2.5
        cw, ch = w * 0.22, h * 0.16
        x0, y0 = int(x), int(y - ch)
        cv2.rectangle(img, (x0, y0), (int(x + cw), int(y)), (70, 60, 55), -1)
        cv2.rectangle(img, (x0 + 8, y0 - int(ch * 0.5)), (int(x + cw) - 8, y0), (90, 80, 75), -1)
        lit = (40, 40, 255) if braking else (30, 30, 110)
        for lx in (x0 + 4, int(x + cw) - 22):
            cv2.rectangle(img, (lx, y0 + 8), (lx + 18, y0 + 18), lit, -1)
        if braking:
            glow = np.zeros_like(img)
            for lx in (x0 + 4, int(x + cw) - 22):
                cv2.rectangle(glow, (lx, y0 + 8), (lx + 18, y0 + 18), (20, 20, 200), -1)
            img += 0.6 * cv2.GaussianBlur(glow, (0, 0), 6)

    return draw


def _orange_person(rng: np.random.Generator, w: int, h: int) -> Draw:
    """A person in orange clothing who walks, stands (swaying a little) and walks on."""
    fy, hgt = h * 0.85, h * 0.45

    def draw(img: np.ndarray, t: float) -> None:
        cycle = t % 16.0  # walk 5 s, stand 6 s, walk back 5 s
        if cycle < 5:
            x, walking = w * (0.15 + 0.1 * cycle), True
        elif cycle < 11:
            x, walking = w * 0.65, False
        else:
            x, walking = w * (0.65 - 0.1 * (cycle - 11)), True
        swing = 0.35 * math.sin(t * 2 * math.pi * 1.8) if walking else 0.0
        sway = 2.0 * math.sin(t * 1.3)
        hip = (int(x + sway), int(fy - 0.48 * hgt))
        sh = (int(x + sway * 1.5), int(fy - 0.8 * hgt))
        for side in (1, -1):
            foot = (int(x + side * 0.25 * hgt * math.sin(swing)), int(fy))
            cv2.line(img, hip, foot, (40, 40, 40), max(3, int(0.09 * hgt)), cv2.LINE_AA)
        cv2.line(img, hip, sh, (0, 120, 250), max(5, int(0.22 * hgt)), cv2.LINE_AA)
        for side in (1, -1):
            hand = (int(sh[0] + side * 0.3 * hgt * math.sin(-swing)), int(sh[1] + 0.3 * hgt))
            cv2.line(img, sh, hand, (10, 140, 255), max(3, int(0.07 * hgt)), cv2.LINE_AA)
        cv2.circle(img, (sh[0], int(sh[1] - 0.1 * hgt)), int(0.085 * hgt), (80, 110, 160), -1)

    return draw


def _beacon(rng: np.random.Generator, w: int, h: int) -> Draw:
    """An amber warning light on a post, flashing at 1.5 Hz (on for half of each period)."""
    cx, cy = int(w * 0.45), int(h * 0.45)

    def draw(img: np.ndarray, t: float) -> None:
        cv2.rectangle(img, (cx - 3, cy), (cx + 3, int(h * 0.9)), (60, 60, 60), -1)
        on = (t * 1.5) % 1.0 < 0.5
        cv2.ellipse(
            img, (cx, cy), (14, 10), 0, 180, 360, (0, 150, 250) if on else (20, 70, 110), -1
        )
        if on:
            cv2.ellipse(img, (cx, cy - 3), (7, 5), 0, 180, 360, (170, 240, 255), -1)
            glow = np.zeros_like(img)
            cv2.circle(glow, (cx, cy - 4), 18, (0, 120, 230), -1)
            img += 0.7 * cv2.GaussianBlur(glow, (0, 0), 10)

    return draw


def _scene(style: str, rng: np.random.Generator, w: int, h: int, ignite: float, pal: Any) -> Draw:
    """The drawing function of a style."""
    if style == "cone":
        return _cone(rng, w, h, ignite, pal)
    if style == "particles":
        return _particles(rng, w, h, ignite, pal)
    if style == "smoky":
        return _smoky(rng, w, h, ignite, pal)
    makers = {
        "sunset": _sunset,
        "brake_lights": _brake_lights,
        "orange_person": _orange_person,
        "beacon": _beacon,
    }
    return makers[style](rng, w, h)


def generate_fire_scene(
    out: str | Path,
    *,
    style: str,
    seed: int = 0,
    duration_s: float = 30.0,
    fps: int = 10,
    width: int = 640,
    height: int = 480,
    palette: tuple[tuple[int, int, int], ...] | None = None,
) -> SceneTruth:
    """Write a fire (or fire-coloured non-fire) scene to ``out`` and its truth beside it.

    A fire style ignites at ``0.2 * duration_s`` (at least 3 s in) and burns to the end; its
    ``palette`` (BGR, cold to hot) defaults to the style's own. Non-fire styles have no events.
    """
    if style not in FIRE_SCENARIOS:
        raise ValueError(f"unknown style {style!r}; choose one of {', '.join(FIRE_SCENARIOS)}")
    if duration_s < 8.0:
        raise ValueError(f"a fire scene needs at least 8 s, got {duration_s:g}")
    out = Path(out)
    if not out.parent.is_dir():
        raise FileNotFoundError(f"folder {str(out.parent)!r} does not exist")
    rng = np.random.default_rng(seed)
    night = style in ("particles", "brake_lights")
    bg = _yard(rng, width, height, night=night)
    ignite = round(max(3.0, 0.2 * duration_s), 2)
    pal = palette or PALETTES.get(style, PALETTES["cone"])
    draw = _scene(style, rng, width, height, ignite, pal)
    events = [TruthEvent("fire", ignite, duration_s)] if style in FIRE_STYLES else []
    if style == "smoky":
        # its grey plume is drawn from ignition but faint at first: smoke counts from
        # SMOKE_AFTER_S later (the smoke scenes of vigil/scene_smoke.py count from 5 s)
        events.append(TruthEvent("smoke", round(ignite + SMOKE_AFTER_S, 2), duration_s))
    noise_rng = np.random.default_rng(seed + 1)
    bank = noise_rng.normal(0, 3.0, (8, height, width, 3)).astype(np.float32)
    container = av.open(str(out), mode="w")
    try:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "23", "preset": "veryfast", "g": str(fps * 2), "bf": "0"}
        for i in range(round(duration_s * fps)):
            t = i / fps
            img = bg.copy()
            draw(img, t)
            img += bank[int(noise_rng.integers(len(bank)))]
            frame = av.VideoFrame.from_ndarray(
                np.clip(img, 0, 255).astype(np.uint8), format="bgr24"
            )
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    finally:
        container.close()
    truth = SceneTruth(f"fire-{style}", seed, duration_s, fps, width, height, events)
    truth_path(out).write_text(truth.to_json(), encoding="utf-8")
    return truth
