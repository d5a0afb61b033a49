"""Per-camera state of the cue scorer, and the small maths its rules share."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np

from engines.cues.motion import ViewState, new_view_state


@dataclass
class Blob:
    """A foreground component's box (downscaled pixels) and area."""

    x: float
    y: float
    w: float
    h: float
    area: float
    edge: bool = False  # touches the frame's border (or what the camera saw): cut off
    motion: float = 1.0  # share of the box that changed in the image since the last sample

    @property
    def top(self) -> float:
        """The box's top edge."""
        return self.y

    @property
    def bottom(self) -> float:
        """The box's bottom edge."""
        return self.y + self.h

    @property
    def cx(self) -> float:
        """The box's horizontal centre."""
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        """The box's vertical centre."""
        return self.y + self.h / 2

    def iou(self, other: Blob) -> float:
        """Intersection over union of two boxes."""
        x0, y0 = max(self.x, other.x), max(self.y, other.y)
        x1 = min(self.x + self.w, other.x + other.w)
        y1 = min(self.y + self.h, other.y + other.h)
        inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
        union = self.w * self.h + other.w * other.h - inter
        return inter / union if union > 0 else 0.0


@dataclass
class Track:
    """A blob followed across samples: its recent (pts_s, blob) history."""

    id: int
    history: deque[tuple[float, Blob]] = field(default_factory=lambda: deque(maxlen=64))
    missed: int = 0

    @property
    def last(self) -> Blob:
        """The most recent blob of the track."""
        return self.history[-1][1]


@dataclass
class Fallen:
    """A figure that fell: where it lies, how it fell and whether it has got up or left."""

    track_id: int
    box: tuple[int, int, int, int]
    since_pts_s: float
    drop_ratio: float
    drop_s: float
    aspect: float
    ref: np.ndarray
    bg: np.ndarray
    still_since_pts_s: float
    ended_pts_s: float | None = None
    leaving: int = 0
    leaving_since: float | None = None
    upright_since: float | None = None
    track_lost: bool = False


@dataclass
class FireObs:
    """One sample of a fire-coloured region."""

    pts_s: float
    area_ratio: float
    cx: float
    cy: float
    size_px: float
    flicker: float
    novel: float
    box: tuple[float, float, float, float]
    #: how flame-like its pixels look (a pale core, or strong brightness texture), 0-1
    look: float = 1.0


@dataclass
class FireSite:
    """A fire-coloured region followed in place across samples."""

    obs: deque[FireObs] = field(default_factory=lambda: deque(maxlen=64))
    #: the region at its recent samples: (pts_s, top-left corner, mask, grey crop), frame pixels
    masks: deque[tuple[float, tuple[int, int], np.ndarray, np.ndarray]] = field(
        default_factory=lambda: deque(maxlen=8)
    )
    #: the site's score memory (decays while evidence is missing) and whether it was confirmed
    level: float = 0.0
    confirmed: bool = False
    peak_area: float = 0.0
    #: when its raw score last rose over the confirmation level (None: it is below)
    above_since: float | None = None
    last_pts_s: float = 0.0
    #: area ratio when first seen, if it began on the scene's flame-coloured fixtures (a flag,
    #: caustics, a sunset seen while the camera learned its scene); 0.0: it did not
    fixture_area: float = 0.0


@dataclass
class CameraState:
    """Everything the cue scorer remembers about one camera."""

    size: tuple[int, int]
    scale: float
    bg: cv2.BackgroundSubtractorMOG2
    prev_gray: np.ndarray | None = None
    #: flame-coloured pixels seen while the camera learned its scene (``fire_since_pts_s`` on)
    fire_fixtures: np.ndarray | None = None
    fire_since_pts_s: float | None = None
    prev_pts_s: float | None = None
    tracks: list[Track] = field(default_factory=list)
    next_track: int = 0
    fallen: Fallen | None = None
    fire_sites: list[FireSite] = field(default_factory=list)
    frames: int = 0
    global_changes: int = 0
    view: ViewState = field(default_factory=new_view_state)
    hold_fall: bool = False  # the view moved or the light stepped: no fall may start now


def norm_patch(p: np.ndarray) -> np.ndarray:
    """The patch as float32 with its mean removed (lighting-offset free)."""
    p = p.astype(np.float32)
    return p - float(p.mean())


def smooth(x: float, lo: float, hi: float) -> float:
    """0 below lo, 1 above hi, smooth in between."""
    if hi <= lo:
        return 1.0 if x >= hi else 0.0
    u = min(1.0, max(0.0, (x - lo) / (hi - lo)))
    return u * u * (3 - 2 * u)
