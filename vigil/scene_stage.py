"""The stage of a hard generated scene: a world canvas, its actors, lighting and a viewport."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from vigil.scene_camera import crop_view
from vigil.scene_draw import LOOKS, Look, Person, Track, asphalt, bricks, perspective_floor, tiles

Frame = np.ndarray
Draw = Callable[[Frame, float], None]


@dataclass
class Actor:
    """Something drawn on the world each frame, back to front by ``depth(t)`` (its feet row)."""

    depth: Callable[[float], float]
    draw: Draw


@dataclass
class Stage:
    """A world canvas, what moves on it, how it is lit and how the camera sees it."""

    world: Frame
    actors: list[Actor] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    light: Callable[[Frame, float], Frame] | None = None  # on the world, after the actors
    view: Callable[[float, int], np.ndarray] | None = None  # (t, frame index) -> affine 2x3
    post: Callable[[Frame, float], Frame] | None = None  # on the frame (exposure)
    noise: float = 2.5
    scale_at: tuple[float, float] = (40.0, 0.4)

    def frame(self, t: float, i: int, w: int, h: int) -> Frame:
        """The float32 BGR frame at time ``t`` (frame index ``i``)."""
        img = self.world.copy()
        for actor in sorted(self.actors, key=lambda a: a.depth(t)):
            actor.draw(img, t)
        if self.light is not None:
            img = self.light(img, t)
        if self.view is not None:
            img = crop_view(img, self.view(t, i), w, h)
        elif img.shape[:2] != (h, w):
            img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
        if self.post is not None:
            img = self.post(img, t)
        return img

    def person(self, look: Look, track: Track) -> Person:
        """Add a person on ``track`` (sized by the stage's perspective) and return it."""
        p = Person(look, track, self.scale_at)
        self.people.append(p)
        self.actors.append(Actor(lambda t: p.track.at(t)[1], p.draw))
        return p

    def prop(self, depth: float, draw: Draw) -> None:
        """Add something drawn at a fixed depth."""
        self.actors.append(Actor(lambda _t: depth, draw))


def yard(rng: np.random.Generator, w: int, h: int, horizon: float = 0.42) -> Stage:
    """An outdoor yard: a brick wall with a door and windows, then asphalt with painted lines;
    people are 0.26 h tall at the wall's foot and 0.5 h at the bottom row."""
    hz = int(h * horizon)
    brick = max(8, int(h / 18))
    base = ((40, 60, 120), (70, 80, 110), (60, 70, 90))[int(rng.integers(3))]
    wall = bricks(rng, w, hz, brick, base)
    for _ in range(max(1, w // 300)):
        x0 = int(rng.integers(0, max(1, w - h // 4)))
        wall[int(hz * 0.2) : int(hz * 0.6), x0 : x0 + h // 5] = (75, 70, 60)
        cv2.rectangle(wall, (x0, int(hz * 0.2)), (x0 + h // 5, int(hz * 0.6)), (200, 200, 200), 3)
    dx = int(rng.integers(0, max(1, w - h // 6)))
    cv2.rectangle(wall, (dx, int(hz * 0.35)), (dx + h // 7, hz), (60, 80, 90), -1)
    ground = asphalt(rng, w, h - hz, float(rng.uniform(75, 95)))
    for lx in range(int(rng.integers(0, 60)), w, max(40, h // 3)):
        cv2.line(ground, (lx, 0), (lx - (w // 2 - lx) // 3, h - hz), (200, 205, 205), 2)
    world = np.vstack([wall, ground]).astype(np.float32)
    cv2.line(world, (0, hz), (w, hz), (60, 60, 60), 3)
    gain = 0.24 / (1 - horizon)
    return Stage(world, scale_at=(0.26 * h - gain * hz, gain))


def hall(rng: np.random.Generator, w: int, h: int, horizon: float = 0.38) -> Stage:
    """An indoor hall: a painted block wall with pillars, then a tiled floor in perspective."""
    hz = int(h * horizon)
    tone = ((150, 160, 165), (120, 140, 150), (160, 150, 140))[int(rng.integers(3))]
    wall = tiles(rng, w, hz, max(10, h // 14), tone)
    for _ in range(max(2, w // 200)):
        px = int(rng.integers(0, max(1, w - 20)))
        wall[:, px : px + max(8, w // 40)] *= 0.75
    flat = tiles(rng, w, h - hz, max(12, h // 10), (110, 115, 120))
    floor = perspective_floor(flat, w, h - hz)
    world = np.vstack([wall, floor]).astype(np.float32)
    gain = 0.26 / (1 - horizon)
    return Stage(world, scale_at=(0.24 * h - gain * hz, gain))


def overhead(rng: np.random.Generator, w: int, h: int) -> Stage:
    """A floor seen from a high camera, filling the frame (people can enter at any edge);
    people are 0.3 h tall at the top row and 0.55 h at the bottom."""
    flat = tiles(rng, w, h, max(12, h // 9), (120, 125, 118))
    world = perspective_floor(flat, w, h, spread=0.12).astype(np.float32)
    return Stage(world, scale_at=(0.3 * h, 0.25))


def look(rng: np.random.Generator) -> Look:
    """A random ordinary outfit."""
    return LOOKS[int(rng.integers(len(LOOKS)))]


def walkers(
    stage: Stage,
    rng: np.random.Generator,
    w: int,
    rows: tuple[float, float],
    duration: float,
    every_s: tuple[float, float] = (2.5, 5.0),
) -> None:
    """Add people crossing the world left to right or back, between feet rows ``rows``, now
    and then pausing for a few seconds."""
    t = float(rng.uniform(0, 1.5))
    while t < duration:
        y = float(rng.uniform(*rows))
        hgt = stage.scale_at[0] + stage.scale_at[1] * y
        speed = float(rng.uniform(0.55, 0.9)) * hgt  # about 1-1.5 m/s
        x0, x1 = (-0.3 * hgt, w + 0.3 * hgt) if rng.random() < 0.5 else (w + 0.3 * hgt, -0.3 * hgt)
        cross = abs(x1 - x0) / speed
        pts = [(t, x0, y)]
        if rng.random() < 0.35:
            u = float(rng.uniform(0.3, 0.7))
            xm, pause = x0 + (x1 - x0) * u, float(rng.uniform(1.5, 4.0))
            pts += [(t + cross * u, xm, y), (t + cross * u + pause, xm, y + 2)]
            t_end = t + cross + pause
        else:
            t_end = t + cross
        pts.append((t_end, x1, y + 2))
        stage.person(look(rng), Track(pts))
        t += float(rng.uniform(*every_s))
