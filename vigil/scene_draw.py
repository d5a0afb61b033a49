"""Drawing for the hard generated scenes: jointed people, keyframed tracks, textured surfaces.

A different drawing style from ``vigil.scene`` (on purpose: the hard scenes are a separate
check): people have knees, elbows, a torso polygon, hair, shoes and a ground shadow; the far
limbs are shaded darker; backgrounds are bricks, asphalt and tiles rather than a noise wall.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import pairwise

import cv2
import numpy as np

Colour = tuple[int, int, int]
Point = tuple[float, float]


def smooth(u: float) -> float:
    """Smoothstep of ``u`` clipped to [0, 1]."""
    u = min(1.0, max(0.0, u))
    return u * u * (3 - 2 * u)


def keyed(keys: list[tuple[float, float]], t: float) -> float:
    """The value at ``t`` of keyframes ``(time, value)``, eased (smoothstep) between them."""
    if not keys:
        return 0.0
    if t <= keys[0][0]:
        return keys[0][1]
    for (t0, v0), (t1, v1) in pairwise(keys):
        if t0 <= t <= t1:
            return v0 + (v1 - v0) * smooth((t - t0) / max(t1 - t0, 1e-6))
    return keys[-1][1]


@dataclass(frozen=True)
class Look:
    """A person's colours: shirt, trousers, skin, hair; ``vest`` adds a hi-vis vest's stripes."""

    shirt: Colour
    pants: Colour
    skin: Colour
    hair: Colour = (30, 35, 45)
    long_sleeves: bool = True
    vest: bool = False


LOOKS = [
    Look((150, 110, 70), (50, 45, 40), (95, 125, 170)),
    Look((70, 70, 75), (110, 90, 60), (70, 95, 140), long_sleeves=False),
    Look((180, 180, 175), (45, 40, 70), (120, 150, 200), (40, 70, 110)),
    Look((60, 110, 150), (35, 35, 35), (60, 80, 120)),
    Look((110, 60, 110), (80, 80, 80), (100, 135, 185), long_sleeves=False),
    Look((90, 130, 90), (60, 50, 45), (85, 115, 160), (20, 20, 25)),
]


@dataclass
class Track:
    """Where a person's feet are over time (linear between waypoints ``(t, x, y)``), with
    eased keyframes for sitting (0 standing, 1 seated) and lying (0 seated, 1 flat)."""

    points: list[tuple[float, float, float]]
    sit: list[tuple[float, float]] = field(default_factory=list)
    lie: list[tuple[float, float]] = field(default_factory=list)

    def active(self, t: float) -> bool:
        """Whether the person is in the scene at ``t``."""
        return self.points[0][0] <= t <= self.points[-1][0]

    def at(self, t: float) -> tuple[float, float, float, float, int]:
        """Feet x, y, distance walked so far, speed (px/s) and facing (+1 right, -1 left)."""
        dist, facing = 0.0, 1
        pts = self.points
        for (t0, x0, y0), (t1, x1, y1) in pairwise(pts):
            seg = math.hypot(x1 - x0, y1 - y0)
            if x1 != x0:
                facing = 1 if x1 > x0 else -1
            if t <= t1:
                u = (t - t0) / max(t1 - t0, 1e-6)
                speed = seg / max(t1 - t0, 1e-6)
                return x0 + (x1 - x0) * u, y0 + (y1 - y0) * u, dist + seg * u, speed, facing
            dist += seg
        return pts[-1][1], pts[-1][2], dist, 0.0, facing


def _limb(origin: Point, angle: float, length: float, facing: int) -> Point:
    """The end of a limb from ``origin`` at ``angle`` from straight down (positive = forward)."""
    return origin[0] + facing * length * math.sin(angle), origin[1] + length * math.cos(angle)


def skeleton(
    x: float, y: float, hgt: float, phase: float, stride: float, facing: int, sit: float, lie: float
) -> dict[str, Point]:
    """Joint positions of a person whose feet (or seat) are at ``(x, y)``, ``hgt`` px tall."""
    thigh, shin, torso = 0.245 * hgt, 0.245 * hgt, 0.3 * hgt
    legs: list[tuple[float, float]] = []
    for side in (0.0, math.pi):
        swing = stride * 0.42 * math.sin(phase + side)
        flex = stride * 0.55 * max(0.0, math.sin(phase + side + 1.2))
        th = swing * (1 - sit) + (math.pi / 2) * sit
        sh = (swing - flex) * (1 - sit) + (math.pi / 2) * lie
        legs.append((th, sh))
    bob = stride * 0.015 * hgt * abs(math.cos(phase))
    hip_h = (thigh + shin) * (1 - sit) + (shin + 0.02 * hgt) * sit
    hip = (x, y - hip_h + bob)
    lean = 0.45 * math.sin(math.pi * sit) * (1 - lie) + 0.06 * stride
    t_ang = lean - lie * (math.pi / 2 - 0.08)  # torso angle from straight up, + = forward
    neck = (hip[0] + facing * torso * math.sin(t_ang), hip[1] - torso * math.cos(t_ang))
    head = (
        neck[0] + facing * 0.1 * hgt * math.sin(t_ang),
        neck[1] - 0.1 * hgt * math.cos(t_ang),
    )
    j: dict[str, Point] = {"hip": hip, "neck": neck, "head": head}
    for name, (th, sh) in zip(("a", "b"), legs, strict=True):
        knee = _limb(hip, th, thigh, facing)
        j["knee_" + name] = knee
        j["foot_" + name] = _limb(knee, sh, shin, facing)
    for name, side in (("a", math.pi), ("b", 0.0)):
        up = stride * 0.5 * math.sin(phase + side) + 0.35 * sit
        fore = up + 0.25 + 0.9 * sit
        up, fore = up * (1 - lie) - t_ang * lie, fore * (1 - lie) - t_ang * lie
        elbow = _limb(neck, up, 0.17 * hgt, facing)
        j["elbow_" + name] = elbow
        j["hand_" + name] = _limb(elbow, fore, 0.16 * hgt, facing)
    return j


def _ip(p: Point) -> tuple[int, int]:
    return round(p[0]), round(p[1])


def _shade(c: Colour, k: float) -> Colour:
    return int(c[0] * k), int(c[1] * k), int(c[2] * k)


def draw_shadow(img: np.ndarray, x: float, y: float, width: float, depth: float = 0.55) -> None:
    """Darken a soft ellipse on the ground under ``(x, y)``."""
    rx, ry = max(3, int(width)), max(2, int(width * 0.22))
    pad = 2 * ry + 2
    x0, y0 = max(0, int(x) - rx - pad), max(0, int(y) - ry - pad)
    x1, y1 = min(img.shape[1], int(x) + rx + pad), min(img.shape[0], int(y) + ry + pad)
    if x1 <= x0 or y1 <= y0:
        return
    mask = np.zeros((y1 - y0, x1 - x0), np.float32)
    cv2.ellipse(mask, (int(x) - x0, int(y) - y0), (rx, ry), 0, 0, 360, 1.0, -1, cv2.LINE_AA)
    mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, ry / 2))
    img[y0:y1, x0:x1] *= (1 - depth * mask)[..., None]


def draw_person(img: np.ndarray, look: Look, joints: dict[str, Point], hgt: float) -> None:
    """Draw a person from its joints: far limbs darker, then torso, near limbs and head."""
    leg_w, arm_w = max(2, int(0.085 * hgt)), max(2, int(0.055 * hgt))
    for side, k in (("b", 0.72), ("a", 1.0)):
        pants = _shade(look.pants, k)
        cv2.line(img, _ip(joints["hip"]), _ip(joints["knee_" + side]), pants, leg_w, cv2.LINE_AA)
        cv2.line(img, _ip(joints["knee_" + side]), _ip(joints["foot_" + side]), pants, leg_w)
        cv2.circle(img, _ip(joints["foot_" + side]), max(2, leg_w // 2 + 1), (25, 25, 30), -1)
        if side == "b":
            _arm(img, look, joints, "b", arm_w, 0.72)
    _torso(img, look, joints, hgt)
    _arm(img, look, joints, "a", arm_w, 1.0)
    head, r = _ip(joints["head"]), max(3, int(0.062 * hgt))
    cv2.ellipse(img, head, (int(r * 0.85), r), 0, 0, 360, look.skin, -1, cv2.LINE_AA)
    nx, ny = joints["head"][0] - joints["neck"][0], joints["head"][1] - joints["neck"][1]
    tilt = math.degrees(math.atan2(ny, nx)) + 90
    cv2.ellipse(img, head, (int(r * 0.9), r), tilt, 180, 360, look.hair, -1, cv2.LINE_AA)


def _arm(img: np.ndarray, look: Look, j: dict[str, Point], side: str, w: int, k: float) -> None:
    sleeve = _shade(look.shirt, k)
    fore = sleeve if look.long_sleeves else _shade(look.skin, k)
    cv2.line(img, _ip(j["neck"]), _ip(j["elbow_" + side]), sleeve, w + 1, cv2.LINE_AA)
    cv2.line(img, _ip(j["elbow_" + side]), _ip(j["hand_" + side]), fore, w, cv2.LINE_AA)
    cv2.circle(img, _ip(j["hand_" + side]), max(1, w // 2), _shade(look.skin, k), -1)


def _torso(img: np.ndarray, look: Look, j: dict[str, Point], hgt: float) -> None:
    """A tapered torso quad along hip->neck; a vest's two light stripes when worn."""
    (hx, hy), (nx, ny) = j["hip"], j["neck"]
    length = max(1e-3, math.hypot(nx - hx, ny - hy))
    px, py = -(ny - hy) / length, (nx - hx) / length  # unit normal
    wh, ws = 0.07 * hgt, 0.085 * hgt
    quad = np.array(
        [
            (hx + px * wh, hy + py * wh),
            (nx + px * ws, ny + py * ws),
            (nx - px * ws, ny - py * ws),
            (hx - px * wh, hy - py * wh),
        ],
        np.int32,
    )
    cv2.fillPoly(img, [quad], look.shirt, cv2.LINE_AA)
    back = np.array([quad[0], quad[1], ((quad[1] + quad[2]) // 2), ((quad[0] + quad[3]) // 2)])
    cv2.fillPoly(img, [back.astype(np.int32)], _shade(look.shirt, 0.8), cv2.LINE_AA)
    if look.vest:
        for u in (0.35, 0.7):
            a = (hx + (nx - hx) * u + px * wh * 1.05, hy + (ny - hy) * u + py * wh * 1.05)
            b = (hx + (nx - hx) * u - px * wh * 1.05, hy + (ny - hy) * u - py * wh * 1.05)
            cv2.line(img, _ip(a), _ip(b), (215, 225, 225), max(1, int(0.025 * hgt)), cv2.LINE_AA)


@dataclass
class Person:
    """A person following a track; ``scale(y)`` gives the height in px at feet row ``y``."""

    look: Look
    track: Track
    scale_at: tuple[float, float]  # (height at y=0, height gain per px of y)
    shadow: bool = True

    def height(self, y: float) -> float:
        """Height in px of a person standing at row ``y``."""
        return max(8.0, self.scale_at[0] + self.scale_at[1] * y)

    def draw(self, img: np.ndarray, t: float) -> None:
        """Draw the person at time ``t`` (nothing outside its track's span)."""
        if not self.track.active(t):
            return
        x, y, dist, speed, facing = self.track.at(t)
        hgt = self.height(y)
        stride = min(1.0, speed / (0.45 * hgt)) if speed > 1.0 else 0.0
        phase = dist / (0.62 * hgt) * math.pi
        sit, lie = keyed(self.track.sit, t), keyed(self.track.lie, t)
        joints = skeleton(x, y, hgt, phase, stride, facing, sit, lie)
        if self.shadow:
            draw_shadow(img, x, y + 0.01 * hgt, 0.2 * hgt + 0.3 * hgt * lie)
        draw_person(img, look=self.look, joints=joints, hgt=hgt)


def value_noise(rng: np.random.Generator, w: int, h: int, cell: int) -> np.ndarray:
    """Smooth noise in about [-1, 1]: a normal grid of ``cell`` px upscaled by cubic resizing."""
    small = rng.normal(0, 1, (h // cell + 2, w // cell + 2)).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def bricks(rng: np.random.Generator, w: int, h: int, brick: int, base: Colour) -> np.ndarray:
    """A brick wall ``w`` x ``h`` (float32 BGR): staggered bricks of random tone, grey mortar."""
    img = np.empty((h, w, 3), np.float32)
    img[:] = (150, 150, 145)
    bh, bw = max(3, brick // 2), brick
    for row, y0 in enumerate(range(0, h, bh)):
        off = (row % 2) * bw // 2
        for x0 in range(-off, w, bw):
            tone = np.array(base, np.float32) * float(rng.uniform(0.75, 1.15))
            cv2.rectangle(img, (x0 + 1, y0 + 1), (x0 + bw - 2, y0 + bh - 2), tone.tolist(), -1)
    grime = value_noise(rng, w, h, 24)[..., None]
    return np.asarray(
        img * (1 + 0.12 * grime) + value_noise(rng, w, h, 2)[..., None] * 6, np.float32
    )


def asphalt(rng: np.random.Generator, w: int, h: int, tone: float = 85.0) -> np.ndarray:
    """Asphalt ground (float32 BGR): grainy, with darker stains."""
    grain: np.ndarray = rng.normal(0, 9, (h, w)).astype(np.float32)
    grain = cv2.GaussianBlur(grain, (0, 0), 0.8)
    stains = value_noise(rng, w, h, 40) * 5
    g = tone + grain + stains
    return np.dstack([g * 1.02, g, g * 0.97])


def tiles(rng: np.random.Generator, w: int, h: int, tile: int, base: Colour) -> np.ndarray:
    """A tiled floor or wall (float32 BGR): tiles of slightly varying tone and dark joints."""
    img = np.empty((h, w, 3), np.float32)
    img[:] = _shade(base, 0.55)
    for y0 in range(0, h, tile):
        for x0 in range(0, w, tile):
            tone = np.array(base, np.float32) * float(rng.uniform(0.9, 1.08))
            cv2.rectangle(img, (x0 + 1, y0 + 1), (x0 + tile - 2, y0 + tile - 2), tone.tolist(), -1)
    return np.asarray(
        img + value_noise(rng, w, h, 3)[..., None] * 4 + value_noise(rng, w, h, 30)[..., None] * 6,
        np.float32,
    )


def perspective_floor(flat: np.ndarray, w: int, h: int, spread: float = 0.35) -> np.ndarray:
    """Warp a flat texture into a floor seen at an angle (narrower far away, at the top)."""
    fh, fw = flat.shape[:2]
    src = np.array([[0, 0], [fw, 0], [fw, fh], [0, fh]], np.float32)
    dst = np.array(
        [[w * spread, 0], [w * (1 - spread), 0], [w * 1.25, h], [-w * 0.25, h]], np.float32
    )
    m = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(
        flat, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
