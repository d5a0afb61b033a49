"""Flame colour: which pixels may be flame, and the regions they form.

One HSV palette holds for one kind of flame only, so the colour model combines rules that hold
for many (red-orange to yellow-white, dark smoky orange, pale cores):

* the RGB rule: ``R >= G >= B`` with ``R`` bright in absolute terms and above the frame's mean red
  (a flame is the reddest thing around), and ``R - B`` large and over half of ``R`` (saturated:
  not a warm grey, not skin);
* the YCbCr rules: ``Y > Cb`` and ``Cr > Cb`` by a margin (red-to-yellow chroma; a dim deep red
  fails ``Y > Cb``: too dark to tell from red paint, so only the brighter body of a flame counts);
* a pale core: very bright (``Y`` high), still warm (``R >= B``, no blue cast), as the white-hot
  centre of a flame clips to near white.

Candidate pixels (colour or core) are closed and grouped (nearby sparks and tongues join one
region); each region keeps its own pixels, the share of them that is pale core, and its box.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class FlameRegion:
    """One group of flame-coloured pixels in a sample (pixels of the downscaled frame)."""

    x: int
    y: int
    w: int
    h: int
    #: the region's own candidate pixels within its box
    mask: np.ndarray
    area: float
    core_share: float
    cx: float
    #: the lowest row of the region (a flame grows up from its base)
    bottom: float
    #: mean brightness (grey level) of the region's pixels and their spread
    brightness: float
    texture: float
    #: the grey levels of the region's box
    grey: np.ndarray


def flame_masks(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(flame-colour mask, pale-core mask) of a BGR image, as bool arrays."""
    f = img.astype(np.int16)
    b, g, r = f[..., 0], f[..., 1], f[..., 2]
    ycc = cv2.cvtColor(img, cv2.COLOR_BGR2YCrCb).astype(np.int16)
    y, cr, cb = ycc[..., 0], ycc[..., 1], ycc[..., 2]
    mean_r = float(r.mean())
    rgb = (r >= g) & (g >= b - 8) & (r >= 100) & (r >= mean_r + 10)
    rgb &= (r - b >= 60) & (100 * (r - b) >= 55 * r)
    ycc_rule = (y > cb) & (cr - cb >= 30)
    colour = rgb & ycc_rule
    core = (y >= 200) & (r >= 200) & (r - b >= 12) & (cr >= cb) & (g >= b)
    return colour, core


def flame_regions(img: np.ndarray, min_area: float) -> list[FlameRegion]:
    """The flame-coloured regions of a BGR image with at least ``min_area`` pixels."""
    colour, core = flame_masks(img)
    cand = (colour | core).astype(np.uint8)
    h, w = cand.shape
    cand = cv2.morphologyEx(cand, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    k = max(3, round(0.02 * max(w, h)) | 1)
    grouped = cv2.dilate(cand, np.ones((k, k), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(grouped, connectivity=8)
    out: list[FlameRegion] = []
    for i in range(1, n):
        x, y, bw, bh = (int(v) for v in stats[i, :4])
        own = (labels[y : y + bh, x : x + bw] == i) & (cand[y : y + bh, x : x + bw] > 0)
        area = float(own.sum())
        if area < min_area:
            continue
        ys, xs = np.nonzero(own)
        core_px = core[y : y + bh, x : x + bw][own]
        grey = cv2.cvtColor(img[y : y + bh, x : x + bw], cv2.COLOR_BGR2GRAY)
        out.append(
            FlameRegion(
                x,
                y,
                bw,
                bh,
                own,
                area,
                float(core_px.mean()),
                float(xs.mean()) + x,
                float(ys.max()) + y,
                float(grey[own].mean()),
                float(grey[own].std()),
                grey,
            )
        )
    return out
