"""The ``fire`` cue: a new, stationary fire-coloured region with a bright core that flickers.

Each sample, fire-coloured components (saturated red to yellow, or a pale bright core) are
observed and attached to a site near where one was seen before. A site scores when its shape
changes from sample to sample (flicker, measured against the previous sample shifted by the
region's own motion) while its centroid stays put and it was not part of the learned background
when it appeared.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from engines.cues.state import CameraState, FireObs, FireSite, smooth
from engines.types import Box


def fire_mask(img: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(candidate mask, pale bright core, saturated flame colour) of a BGR image."""
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    colour = ((hue <= 34) | (hue >= 172)) & (sat >= 130) & (val >= 170)
    core = (hue >= 12) & (hue <= 40) & (sat >= 30) & (sat <= 150) & (val >= 230)
    return (colour | core).astype(np.uint8), core, colour


def fire_score(
    st: CameraState,
    img: np.ndarray,
    fg: np.ndarray,
    pts_s: float,
    cues: dict[str, float],
    regions: dict[str, Box],
    w: int,
    h: int,
) -> float:
    """Observe this sample's fire-coloured regions and score the best site (adds cues, region)."""
    mask, core, colour = fire_mask(img)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    prev = st.prev_fire
    st.prev_fire = mask
    min_area = 0.0008 * w * h
    seen: list[FireSite] = []
    for i in range(1, n):
        area = float(stats[i, cv2.CC_STAT_AREA])
        if area < min_area:
            continue
        x, y, bw, bh = (int(v) for v in stats[i, :4])
        comp = labels[y : y + bh, x : x + bw] == i
        if float(core[y : y + bh, x : x + bw][comp].mean()) < 0.04:
            continue  # no bright pale core: clothing, paint
        if float(colour[y : y + bh, x : x + bw][comp].mean()) < 0.3:
            continue  # mostly pale: a lit white surface, not a flame
        # new in the scene: a fire is not part of the learned background, while a static
        # orange object is (and only its occluders are foreground)
        novel = float(fg[y : y + bh, x : x + bw][comp].mean())
        ys, xs = np.nonzero(comp)
        cx, cy = float(xs.mean()) + x, float(ys.mean()) + y
        site = _fire_site(st, cx, cy, math.sqrt(area), pts_s)
        flicker = 0.0
        if prev is not None and site.obs:
            last = site.obs[-1]
            shift = (round(cx - last.cx), round(cy - last.cy))
            flicker = _flicker(mask, prev, (x, y, bw, bh), shift, w, h)
        box = (x / w, y / h, (x + bw) / w, (y + bh) / h)
        site.obs.append(
            FireObs(pts_s, area / (w * h), cx, cy, math.sqrt(area), flicker, novel, box)
        )
        seen.append(site)
    st.fire_sites = [s for s in st.fire_sites if s in seen or pts_s - s.obs[-1].pts_s <= 1.5]
    best, best_site = 0.0, None
    for site in seen:
        sc = _fire_site_score(site, pts_s)
        if sc > best or best_site is None:
            best, best_site = sc, site
    if best_site is None:
        return 0.0
    _report_fire(best_site, pts_s, cues, regions)
    return best


def _flicker(
    mask: np.ndarray,
    prev: np.ndarray,
    rect: tuple[int, int, int, int],
    shift: tuple[int, int],
    w: int,
    h: int,
) -> float:
    """Share of the region's (padded) mask that changed since the previous sample.

    The previous mask is shifted by the region's own motion (``shift``, in pixels), so a moving
    coloured object (clothing) does not count as flicker.
    """
    x, y, bw, bh = rect
    dx, dy = shift
    pad = 4
    sx0, sy0 = max(0, x - pad), max(0, y - pad)
    sx1, sy1 = min(w, x + bw + pad), min(h, y + bh + pad)
    a = mask[sy0:sy1, sx0:sx1].astype(bool)
    px0, py0 = sx0 - dx, sy0 - dy
    b = np.zeros_like(a)
    qx0, qy0 = max(0, px0), max(0, py0)
    qx1, qy1 = min(w, px0 + a.shape[1]), min(h, py0 + a.shape[0])
    if qx1 > qx0 and qy1 > qy0:
        b[qy0 - py0 : qy1 - py0, qx0 - px0 : qx1 - px0] = prev[qy0:qy1, qx0:qx1] > 0
    union = float((a | b).sum())
    return float((a ^ b).sum()) / union if union else 0.0


def _report_fire(
    site: FireSite, pts_s: float, cues: dict[str, float], regions: dict[str, Box]
) -> None:
    """The best site's area, growth and recent flicker as cues, its last box as the region."""
    last = site.obs[-1]
    recent = [o for o in site.obs if pts_s - o.pts_s <= 3.0]
    cues.update(
        {
            "fire_area_ratio": round(last.area_ratio, 4),
            "fire_growth_ratio": round(last.area_ratio / max(site.obs[0].area_ratio, 1e-9), 2),
            "fire_flicker": round(float(np.mean([o.flicker for o in recent[1:]] or [0.0])), 3),
        }
    )
    regions["fire"] = last.box


def _fire_site(st: CameraState, cx: float, cy: float, size: float, pts_s: float) -> FireSite:
    """The fire site a candidate region belongs to (a new one if none is close)."""
    for site in st.fire_sites:
        o = site.obs[-1]
        if o.pts_s < pts_s and math.hypot(o.cx - cx, o.cy - cy) <= 1.2 * max(size, 8.0):
            return site
    site = FireSite()
    st.fire_sites.append(site)
    return site


def _fire_site_score(site: FireSite, pts_s: float) -> float:
    """Flicker in place: shape changes between samples while the centroid stays put."""
    recent = [o for o in site.obs if pts_s - o.pts_s <= 3.0]
    if len(recent) < 3:
        return 0.0
    last = recent[-1]
    spread = max(math.hypot(o.cx - last.cx, o.cy - last.cy) for o in recent)
    stationary = 1.0 - smooth(spread / max(last.size_px, 1.0), 0.35, 0.8)
    flick = float(np.mean([o.flicker for o in recent[1:]]))
    # new in the scene when it appeared (a long fire slowly joins the background model);
    # the median over its first samples, so a static object that is briefly occluded
    # (its edges turn foreground for a moment) does not count as new
    novel = float(np.median([o.novel for o in list(site.obs)[:6]]))
    score = smooth(flick, 0.07, 0.18) * stationary * smooth(novel, 0.25, 0.5)
    return float(min(1.0, max(0.0, score)))
