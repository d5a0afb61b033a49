"""The ``smoke`` cue: a grey, soft-edged region that veils the background, grows and rises.

The frame is compared with a slowly learned reference of the scene on a grid of cells. A cell
is smoky when its local contrast (standard deviation and edge density, each divided by the
brightness ratio, so a lighting gain is not a contrast drop) fell well below the reference's
while its colour stays unsaturated. The smoky cells' largest connected region is followed as a
site; it scores when it is soft-edged (the change from the reference fades out over many pixels
instead of stepping like a car's or a person's outline), has been seen for a few seconds, stays
roughly in place, has grown (in area) and risen (its top edge). A region mostly inside a flame's
(grown) box is the flame's own glow, not smoke; one mostly inside a person's box is not smoke,
nor one through which the scene's fine structure no longer shows (an opaque, out-of-focus
object in front of the lens: smoke is translucent). Known limits: a dark veil mostly hides
texture and changes the brightness little, so its edges read almost as sharp as an object's
(growth and rise then do the work); thick smoke that hides the scene entirely is found only
while its thinner edges still let the scene show through. A veil over most of the frame at
once is fog, haze or flat lighting, not smoke; a global change
of brightness relearns the reference.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from engines.cues.state import smooth
from engines.types import Box

_WORK_SIDE = 240  # the smoke cue works on frames with this longest side
_CELL = 8  # grid cell, in working pixels
_REF_S = 30.0  # seconds over which the reference follows the scene where nothing happens
_WARMUP_S = 2.0  # no scoring before the reference has settled
_MIN_TEXTURE = 1.5  # reference cells flatter than this (grey levels of std) tell nothing
_FOG_AREA = 0.45  # smoky share of the frame that means fog, haze or flat lighting
_GAIN_JUMP = 0.08  # median brightness change that means the lighting changed


@dataclass
class SmokeObs:
    """One sample of the smoky region: area, box (normalised) and how it differs."""

    pts_s: float
    area_ratio: float
    box: Box
    contrast_drop: float
    sharpness: float


@dataclass
class SmokeState:
    """What the smoke cue remembers about one camera."""

    ref: np.ndarray | None = None
    ref_std: np.ndarray | None = None
    ref_edge: np.ndarray | None = None
    first_pts_s: float | None = None
    prev_pts_s: float | None = None
    obs: deque[SmokeObs] = field(default_factory=lambda: deque(maxlen=80))


def _cells(x: np.ndarray, gw: int, gh: int) -> np.ndarray:
    """Per-cell means of a working-size float image."""
    return cv2.resize(x, (gw, gh), interpolation=cv2.INTER_AREA)


def _edges(g: np.ndarray) -> np.ndarray:
    """Gradient magnitude of a float grey image."""
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    return cv2.magnitude(gx, gy)


def _local(g: np.ndarray, gw: int, gh: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, standard deviation, edge density) of each cell of a float grey image."""
    mean = _cells(g, gw, gh)
    sq = _cells(g * g, gw, gh)
    std = np.sqrt(np.maximum(sq - mean * mean, 0.0))
    return mean, std, _cells(_edges(g), gw, gh)


def _learn(st: SmokeState, g: np.ndarray, keep: np.ndarray, rate: float) -> None:
    """Move the reference towards this frame, except in the cells marked ``keep``."""
    assert st.ref is not None
    gh, gw = keep.shape
    size = (g.shape[1], g.shape[0])
    hold = cv2.resize(keep.astype(np.float32), size, interpolation=cv2.INTER_NEAREST)
    a = rate * (1.0 - hold)
    st.ref += a * (g - st.ref)
    _, st.ref_std, st.ref_edge = _local(st.ref, gw, gh)


def _smoky_cells(
    st: SmokeState, g: np.ndarray, small: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """(smoky cells, contrast drop per cell) against the reference; None: the lighting changed.

    The contrast (standard deviation and edge density) is divided by the brightness ratio, so
    a lighting gain does not lower it, while a veil in front of the background does."""
    assert st.ref is not None and st.ref_std is not None and st.ref_edge is not None
    gh, gw = st.ref_std.shape
    mean, std, edge = _local(g, gw, gh)
    ratio = (mean + 4.0) / (_cells(st.ref, gw, gh) + 4.0)
    if abs(float(np.median(ratio)) - 1.0) > _GAIN_JUMP:
        return None
    sat = _cells(cv2.cvtColor(small, cv2.COLOR_BGR2HSV)[..., 1].astype(np.float32), gw, gh)
    c_std = std / (st.ref_std + 1e-3) / ratio
    c_edge = edge / (st.ref_edge + 1e-3) / ratio
    drop = 1.0 - np.minimum(1.0, 0.5 * (c_std + c_edge))
    return (st.ref_std > _MIN_TEXTURE) & (drop > 0.3) & (sat < 70), drop


def smoke_score(
    st: SmokeState,
    img: np.ndarray,
    fg: np.ndarray,
    pts_s: float,
    cues: dict[str, float],
    regions: dict[str, Box],
    people: Sequence[Box] = (),
) -> float:
    """Observe this sample's smoky region and score it (adds cues and the region).

    ``people``: boxes of the people seen lately; a region mostly inside one is not smoke.
    """
    h0, w0 = img.shape[:2]
    k = min(1.0, _WORK_SIDE / max(h0, w0))
    small: np.ndarray = img
    if k < 1:
        small = np.asarray(cv2.resize(img, None, fx=k, fy=k, interpolation=cv2.INTER_AREA))
    g = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.float32)
    g = np.asarray(cv2.GaussianBlur(g, (3, 3), 0), np.float32)
    h, w = g.shape
    gw, gh = max(1, w // _CELL), max(1, h // _CELL)
    dt = pts_s - st.prev_pts_s if st.prev_pts_s is not None else 0.0
    st.prev_pts_s = pts_s
    if st.ref is None or st.ref.shape != g.shape:
        st.ref, st.first_pts_s = g.copy(), pts_s
        st.obs.clear()
        _learn(st, g, np.zeros((gh, gw), bool), 0.0)
        return 0.0
    found = _smoky_cells(st, g, small)
    if found is None:
        # the lighting changed: relearn quickly, read nothing from this frame
        _learn(st, g, np.zeros((gh, gw), bool), 0.5)
        return 0.0
    smoky, drop = found
    rate = min(1.0, max(dt, 0.05) / _REF_S)
    fg_w = cv2.resize(fg.astype(np.float32), (w, h), interpolation=cv2.INTER_NEAREST)
    fgc = _cells(fg_w, gw, gh) > 0.3
    _learn(st, g, smoky | fgc, rate)
    if st.first_pts_s is None or pts_s - st.first_pts_s < _WARMUP_S:
        return 0.0
    frac = float(smoky.mean())
    if frac > _FOG_AREA:
        st.obs.clear()
        cues["smoke_area_ratio"] = round(frac, 4)
        return 0.0
    obs = _region(smoky, drop, g, st.ref, pts_s)
    if obs is None:
        if st.obs and pts_s - st.obs[-1].pts_s > 2.0:
            st.obs.clear()
        return 0.0
    if st.obs and not _same_site(st.obs[-1], obs):
        st.obs.clear()
    st.obs.append(obs)
    score = _score_site(st, pts_s, h0, cues, regions)
    return score * _not_smoke_else(st, g, obs.box, cues, regions, people)


def _not_smoke_else(
    st: SmokeState, g: np.ndarray, box: Box, cues: dict[str, float], regions: dict[str, Box],
    people: Sequence[Box],
) -> float:  # fmt: skip
    """1.0 unless the region is something else: an opaque blur (the scene's structure gone),
    a person, or a flame's own glow (the fire cue's region, set before)."""
    assert st.ref is not None
    kept = _structure_kept(g, st.ref, box)
    cues["smoke_structure_kept"] = round(kept, 3)
    fire = regions.get("fire")
    return (
        smooth(kept, 0.4, 0.6)
        * (1.0 - smooth(max((_cover(box, p) for p in people), default=0.0), 0.2, 0.5))
        * (1.0 - smooth(_cover(box, _grown(fire)) if fire else 0.0, 0.3, 0.6))
    )


def _structure_kept(g: np.ndarray, ref: np.ndarray, box: Box) -> float:
    """How much of the scene's fine structure still shows through the region: the normalised
    correlation of the Laplacians of this sample and the reference over its box.

    Smoke is translucent: the edges behind it are fainter but where they were (0.8-0.95 on
    the generated plumes); an out-of-focus object that comes into view (a hand in front of the
    lens) is soft-edged and lowers the contrast too, but replaces what was behind it (0.3)."""
    h, w = g.shape
    x0, y0 = int(box[0] * w), int(box[1] * h)
    x1, y1 = max(x0 + 3, int(box[2] * w)), max(y0 + 3, int(box[3] * h))
    a = cv2.Laplacian(g, cv2.CV_32F)[y0:y1, x0:x1]
    b = cv2.Laplacian(ref, cv2.CV_32F)[y0:y1, x0:x1]
    a, b = a - a.mean(), b - b.mean()
    den = float(np.sqrt(float((a * a).sum()) * float((b * b).sum())))
    return float((a * b).sum()) / den if den > 1e-6 else 0.0


def _grown(box: Box, by: float = 0.5) -> Box:
    """``box`` grown by ``by`` of its size on every side (a flame's glow and heat shimmer)."""
    dx, dy = by * (box[2] - box[0]), by * (box[3] - box[1])
    return (box[0] - dx, box[1] - dy, box[2] + dx, box[3] + dy)


def _cover(a: Box, b: Box) -> float:
    """The share of box ``a`` that box ``b`` covers."""
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    area = (a[2] - a[0]) * (a[3] - a[1])
    return max(0.0, x1 - x0) * max(0.0, y1 - y0) / area if area > 0 else 0.0


def _region(
    smoky: np.ndarray, drop: np.ndarray, g: np.ndarray, ref: np.ndarray, pts_s: float
) -> SmokeObs | None:
    """The largest region of smoky cells, as an observation (None: none big enough)."""
    gh, gw = smoky.shape
    m = cv2.morphologyEx(smoky.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    if n <= 1:
        return None
    i = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    area = float(stats[i, cv2.CC_STAT_AREA])
    if area < 3:
        return None
    x, y, bw, bh = (int(v) for v in stats[i, :4])
    comp = labels == i
    box = (x / gw, y / gh, (x + bw) / gw, (y + bh) / gh)
    return SmokeObs(
        pts_s,
        area / (gw * gh),
        box,
        float(drop[comp].mean()),
        _sharpness(g, ref, (x, y, bw, bh)),
    )


def _sharpness(g: np.ndarray, ref: np.ndarray, cell_box: tuple[int, int, int, int]) -> float:
    """How abruptly the change from the reference steps around the region, relative to its
    size: 1.3 and more for a solid object's outline, about 0.5 for a light veil (a dark veil,
    which mostly hides texture, reads near 1)."""
    x, y, bw, bh = cell_box
    hh, ww = g.shape
    x0, y0 = max(0, (x - 1) * _CELL), max(0, (y - 1) * _CELL)
    x1, y1 = min(ww, (x + bw + 1) * _CELL), min(hh, (y + bh + 1) * _CELL)
    # blurred well beyond the background's texture, so only the outline of the change is left
    d = cv2.GaussianBlur(np.abs(g - ref)[y0:y1, x0:x1], (0, 0), 3.0)
    if d.size < 16:
        return 1.0
    amp = float(np.percentile(d, 90))
    if amp < 3.0:
        return 1.0
    return float(np.percentile(_edges(d), 99)) / amp


def _same_site(a: SmokeObs, b: SmokeObs) -> bool:
    """Whether two observations overlap (the same smoky region followed in place)."""
    x0, y0 = max(a.box[0], b.box[0]), max(a.box[1], b.box[1])
    x1, y1 = min(a.box[2], b.box[2]), min(a.box[3], b.box[3])
    return x1 > x0 and y1 > y0


def _score_site(
    st: SmokeState, pts_s: float, h0: int, cues: dict[str, float], regions: dict[str, Box]
) -> float:
    """Soft-edged, in place for a few seconds, grown upwards: the smoke score of the site."""
    obs = list(st.obs)
    last = obs[-1]
    age = pts_s - obs[0].pts_s
    recent = [o for o in obs if pts_s - o.pts_s <= 4.0]
    sharp = float(np.median([o.sharpness for o in recent]))
    drop = float(np.median([o.contrast_drop for o in recent]))
    # medians of the first and last few samples, so one ragged sample is no rise or growth
    head, tail = obs[:3], obs[-3:]
    top0, top1 = (float(np.median([o.box[1] for o in part])) for part in (head, tail))
    rise = (top0 - top1) / max(age, 1.0)
    cx0, cx1 = (float(np.median([(o.box[0] + o.box[2]) / 2 for o in p])) for p in (head, tail))
    drift = abs(cx1 - cx0) / max(age, 1.0)
    a0, a1 = (float(np.median([o.area_ratio for o in part])) for part in (head, tail))
    grown = a1 / max(a0, 1e-6)
    score = (
        smooth(last.area_ratio, 0.004, 0.012)
        * smooth(drop, 0.25, 0.42)
        * (1.0 - smooth(sharp, 1.1, 1.5))
        * smooth(age, 1.5, 3.0)
        * smooth(rise, 0.004, 0.012)
        * (1.0 - smooth(drift, 0.04, 0.08))
        * smooth(grown, 1.2, 1.6)
    )
    cues.update(
        {
            "smoke_area_ratio": round(last.area_ratio, 4),
            "smoke_contrast_drop": round(drop, 3),
            "smoke_edge_sharpness": round(sharp, 3),
            "smoke_rise_px_s": round(rise * h0, 1),
        }
    )
    regions["smoke"] = last.box
    return float(min(1.0, max(0.0, score))) if math.isfinite(score) else 0.0
