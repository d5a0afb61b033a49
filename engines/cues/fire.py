"""The ``fire`` cue: a new, stationary flame-coloured region whose outline keeps changing.

Each sample, flame-coloured regions (:mod:`engines.cues.fire_colour`: RGB and YCbCr rules and a
pale core, grouped so sparks and tongues form one region) are attached to a site that overlaps
where one was seen before (largest region first). A site's evidence is the change of its
outline, and of the pattern of its brightness, against its own sample about 1 s earlier, while
its base stays put, it looks like flame (a pale core, or strong brightness texture) and it was
not part of the learned background when it appeared; the median over a 3 s window, so a flame
that changes in every sample scores and a figure that bends once does not.

What the sampling rate can see: real flames flicker at about 1-12 Hz, while the cue scorer
samples at 1-5 fps, whose Nyquist limit is 0.5-2.5 Hz. Flame flicker therefore ALIASES: its
frequency cannot be measured and is not used. What is measurable at any of these rates is that
the region's boundary is different in every sample (a flame's shape is never repeated, so
aliasing makes successive samples look unrelated), while a rigid light keeps its outline: a
beacon flashing on and off, brake lights or a lamp show the same shape whenever they are lit,
a sunset's gradient and clouds change slowly, and orange clothing moves as a whole. Outline
change counts only where the outline gains in one place and loses in another at once (a light
switching on, a region that only grows, or a figure a passer-by hides for a moment changes one
way); one-pixel jitter (noise, compression) is not change; the old outline is aligned by the
best of a few shifts around the motion of the region's base; and the reference is the site's
latest sample at least ``_LAG_S`` old, which is 1 s back at 1, 2 and 5 fps alike. Brightness
change is measured with its mean removed (a beacon caught half lit dims as a whole, while a
flame's bright pattern moves).

Persistence (:func:`site_level`): a confirmed site (evidence over ``_CONFIRM``, then over
``_HELD`` for ``_CONFIRM_S``, as the lifecycle opens an incident) keeps a decaying memory of its
score (half-life ``_DECAY_HALF_S``) and holds at ``_HOLD`` (above the default off-threshold 0.4)
while its region is still flame-coloured, not shrunk to a fraction of its peak and not rigid, so
a burning fire that grows, moves a little or changes colour keeps one incident; once the region
is gone the memory decays below the off-threshold in about 2 s. An unconfirmed site has no
memory (a brief spike is not held).

Scene fixtures (:func:`_learn_fixtures`): what is flame-coloured during a camera's first
``_SCENE_S`` (or a moved view's) is part of the scene: a flag, light playing on a wall, a
sunset. A site that begins on those pixels scores only once it outgrows their footprint
(``_FIXTURE_GROWTH``), so a fire already burning when the camera starts is found once it grows.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from engines.cues.fire_colour import FlameRegion, flame_regions
from engines.cues.state import CameraState, FireObs, FireSite, smooth
from engines.types import Box

_WINDOW_S = 3.0  # evidence window of a site
_DECAY_HALF_S = 2.0  # half-life of a site's score memory once its evidence is gone
_CONFIRM = 0.6  # raw score that, then held over _HELD for _CONFIRM_S, confirms a site
_HELD = 0.4
_CONFIRM_S = 1.5
_HOLD = 0.75  # a confirmed site's score while its region still burns
_KEEP_S = 1.5  # an unconfirmed site is forgotten this long after its last sample
_KEEP_CONFIRMED_S = 8.0
_INTENSITY_GAIN = 1.5  # weight of uneven brightness change beside outline change
_LAG_S = 0.9  # outline change is measured against the sample about this long ago
_SCENE_S = 3.0  # a camera's (or a moved view's) first seconds: its flame-coloured fixtures
_FIXTURE_SHARE = 0.3  # a new site on this much fixture began on one
_FIXTURE_GROWTH = (1.3, 1.8)  # ... and scores once it outgrew the fixtures' footprint so much


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
    """Observe this sample's flame-coloured regions and score the best site (adds cues, region)."""
    seen: list[FireSite] = []
    # largest first: a fire's main body keeps its site, a detached tongue does not take it
    found = sorted(flame_regions(img, 0.0006 * w * h), key=lambda r: -r.area)
    fixtures = _learn_fixtures(st, found, pts_s, w, h)
    for reg in found:
        novel = float(fg[reg.y : reg.y + reg.h, reg.x : reg.x + reg.w][reg.mask].mean())
        site = _site_for(st, reg, pts_s)
        if (not site.obs or site.fixture_area > 0.0) and _on_fixtures(fixtures, reg):
            # the fixture's footprint, as large as it was seen while the scene was learned
            site.fixture_area = max(site.fixture_area, _footprint(fixtures, reg) / (w * h))
        change = _shape_change(site, reg, pts_s) if site.masks else 0.0
        box = (reg.x / w, reg.y / h, (reg.x + reg.w) / w, (reg.y + reg.h) / h)
        size = math.sqrt(reg.area)
        look = max(smooth(reg.core_share, 0.0, 0.03), smooth(reg.texture, 11.0, 18.0))
        site.obs.append(
            FireObs(pts_s, reg.area / (w * h), reg.cx, reg.bottom, size, change, novel, box, look)
        )
        site.masks.append((pts_s, (reg.x, reg.y), reg.mask, reg.grey))
        site.peak_area = max(site.peak_area, reg.area / (w * h))
        seen.append(site)
    kept: list[FireSite] = []
    for site in st.fire_sites:
        age = pts_s - site.obs[-1].pts_s
        if site in seen or age <= (_KEEP_CONFIRMED_S if site.confirmed else _KEEP_S):
            kept.append(site)
    st.fire_sites = kept
    best, best_site = 0.0, None
    for site in kept:
        sc = site_level(site, pts_s, site in seen)
        if best_site is None or sc > best:
            best, best_site = sc, site
    if best_site is None:
        return 0.0
    _report_fire(best_site, pts_s, cues, regions)
    return best


def _learn_fixtures(
    st: CameraState, found: list[FlameRegion], pts_s: float, w: int, h: int
) -> np.ndarray | None:
    """While the camera learns its scene (its first ``_SCENE_S``, or a moved view's), add this
    sample's flame-coloured pixels (grown by a few pixels) to its fixtures; returns them, or
    None once learning is over and there were none.

    What is flame-coloured and changing before anything could have caught fire (a flag, light
    playing on a wall, a sunset) is part of the scene: a site that begins on it must grow to
    score. The price, stated: a fire already burning when the camera starts counts once it
    grows to about twice its size.
    """
    if st.fire_since_pts_s is None:
        st.fire_since_pts_s = pts_s
    if pts_s - st.fire_since_pts_s < _SCENE_S:
        if st.fire_fixtures is None:
            st.fire_fixtures = np.zeros((h, w), np.uint8)
        for reg in found:
            grown = cv2.dilate(reg.mask.astype(np.uint8), np.ones((9, 9), np.uint8))
            view = st.fire_fixtures[reg.y : reg.y + reg.h, reg.x : reg.x + reg.w]
            np.maximum(view, grown, out=view)
        return st.fire_fixtures
    return st.fire_fixtures if st.fire_fixtures is not None and st.fire_fixtures.any() else None


def _on_fixtures(fixtures: np.ndarray | None, reg: FlameRegion) -> bool:
    """Whether a region lies mostly on the scene's fixtures."""
    if fixtures is None:
        return False
    under = fixtures[reg.y : reg.y + reg.h, reg.x : reg.x + reg.w][reg.mask.astype(bool)]
    return under.size > 0 and float(under.mean()) >= _FIXTURE_SHARE


def _footprint(fixtures: np.ndarray | None, reg: FlameRegion) -> float:
    """Fixture pixels around a region (its box grown by a quarter): what a site that began on
    fixtures must outgrow."""
    if fixtures is None:
        return 0.0
    pad = round(0.25 * max(reg.w, reg.h))
    y0, x0 = max(0, reg.y - pad), max(0, reg.x - pad)
    return float(np.count_nonzero(fixtures[y0 : reg.y + reg.h + pad, x0 : reg.x + reg.w + pad]))


def _site_for(st: CameraState, reg: FlameRegion, pts_s: float) -> FireSite:
    """The site a region belongs to: the one whose (padded) last box it overlaps most, by
    intersection over union (else a new one)."""
    best, best_ov = None, 0.0
    for site in st.fire_sites:
        if site.obs[-1].pts_s >= pts_s or not site.masks:
            continue
        _, (ox, oy), last_mask, _ = site.masks[-1]
        oh, ow = last_mask.shape
        pad = 0.25 * max(ow, oh) + 4
        ix = min(reg.x + reg.w, ox + ow + pad) - max(reg.x, ox - pad)
        iy = min(reg.y + reg.h, oy + oh + pad) - max(reg.y, oy - pad)
        if ix <= 0 or iy <= 0:
            continue
        inter = ix * iy
        ov = inter / (reg.w * reg.h + (ow + 2 * pad) * (oh + 2 * pad) - inter)
        if ov > best_ov:
            best, best_ov = site, ov
    if best is not None:
        return best
    site = FireSite()
    st.fire_sites.append(site)
    return site


def _shape_change(site: FireSite, reg: FlameRegion, pts_s: float) -> float:
    """How much the region changed since the site's sample ``_LAG_S`` ago.

    A fixed lag (the latest sample at least ``_LAG_S`` old, else the oldest kept) makes the
    measure alike at 1, 2 and 5 fps; the result is the larger of the outline change and
    ``_INTENSITY_GAIN`` times the uneven brightness change. The old mask is shifted by the
    motion of the region's base (so a moving object's own motion is not change).
    """
    ref = site.masks[0]
    for m in site.masks:
        if pts_s - m[0] >= _LAG_S - 1e-6:
            ref = m
    ref_pts, (ox, oy), pm, pg = ref
    then = next(o for o in reversed(site.obs) if o.pts_s <= ref_pts + 1e-9)
    dx, dy = round(reg.cx - then.cx), round(reg.bottom - then.cy)
    # the base's motion is a noisy estimate: the best of a few shifts around it (and none)
    shifts = {(0, 0)} | {(dx + ex, dy + ey) for ex in (-2, 0, 2) for ey in (-2, 0, 2)}
    shape, sx, sy = min((_change_at(reg, pm, ox + sx, oy + sy), sx, sy) for sx, sy in shifts)
    return max(shape, _INTENSITY_GAIN * _intensity_change(reg, pm, pg, ox + sx, oy + sy))


def _intensity_change(reg: FlameRegion, pm: np.ndarray, pg: np.ndarray, ox: int, oy: int) -> float:
    """Uneven change of brightness over the pixels the region shares with its old mask.

    The mean change is removed first, so a light that dims or brightens as a whole (a beacon
    caught half lit, an exposure change) does not count; a flame's brightness pattern moves.
    """
    x0, y0 = max(ox, reg.x), max(oy, reg.y)
    x1 = min(ox + pm.shape[1], reg.x + reg.w)
    y1 = min(oy + pm.shape[0], reg.y + reg.h)
    if x1 - x0 < 3 or y1 - y0 < 3:
        return 0.0
    a = reg.mask[y0 - reg.y : y1 - reg.y, x0 - reg.x : x1 - reg.x]
    b = pm[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
    both = a & b
    if int(both.sum()) < 12:
        return 0.0
    ga = reg.grey[y0 - reg.y : y1 - reg.y, x0 - reg.x : x1 - reg.x][both].astype(np.float32)
    gb = pg[y0 - oy : y1 - oy, x0 - ox : x1 - ox][both].astype(np.float32)
    d = ga - gb
    return float(np.abs(d - d.mean()).mean()) / max(float(ga.mean()), 1.0)


def _change_at(reg: FlameRegion, pm: np.ndarray, ox: int, oy: int) -> float:
    """Changed share of the union of the region's mask and ``pm`` placed at (ox, oy)."""
    x0, y0 = min(ox, reg.x), min(oy, reg.y)
    x1 = max(ox + pm.shape[1], reg.x + reg.w)
    y1 = max(oy + pm.shape[0], reg.y + reg.h)
    a = np.zeros((y1 - y0, x1 - x0), np.uint8)
    b = np.zeros_like(a)
    a[reg.y - y0 : reg.y - y0 + reg.h, reg.x - x0 : reg.x - x0 + reg.w] = reg.mask
    b[oy - y0 : oy - y0 + pm.shape[0], ox - x0 : ox - x0 + pm.shape[1]] = pm
    k = np.ones((3, 3), np.uint8)
    gained = float((a & (1 - cv2.dilate(b, k))).sum())
    lost = float((b & (1 - cv2.dilate(a, k))).sum())
    union = float((a | b).sum())
    # both ways at once: a flame's outline gains here and loses there; a light switching on,
    # a region that only grows, or a figure a passer-by hides for a moment changes one way
    return 2.0 * min(gained, lost) / union if union else 0.0


def raw_score(site: FireSite, pts_s: float) -> float:
    """This sample's evidence: outline change in place, on a region new in the scene."""
    recent = [o for o in site.obs if pts_s - o.pts_s <= _WINDOW_S + 1e-6]
    if len(recent) < 3:
        return 0.0
    last = recent[-1]
    spread = max(math.hypot(o.cx - last.cx, o.cy - last.cy) for o in recent)
    stationary = 1.0 - smooth(spread / max(last.size_px, 1.0), 0.35, 0.8)
    # the median: a flame changes in every sample, a person who bends changes once or twice
    change = float(np.median([o.flicker for o in recent[1:]]))
    # new in the scene when it appeared (a long fire slowly joins the background model); the
    # median over its first samples, so a static object briefly occluded does not count as new
    novel = float(np.median([o.novel for o in list(site.obs)[:6]]))
    look = float(np.median([o.look for o in recent]))
    score = smooth(change, 0.05, 0.13) * stationary * smooth(novel, 0.25, 0.5) * look
    if site.fixture_area > 0.0:  # began on the scene's fixtures: only growth makes it a fire
        score *= smooth(last.area_ratio / site.fixture_area, *_FIXTURE_GROWTH)
    return float(min(1.0, max(0.0, score)))


def _still_burning(site: FireSite, pts_s: float) -> bool:
    """A confirmed site's region is still there: flame-coloured, not shrunk away, not rigid."""
    recent = [o for o in site.obs if pts_s - o.pts_s <= _WINDOW_S + 1e-6]
    if len(recent) < 2:
        return True
    change = float(np.mean([o.flicker for o in recent[1:]]))
    return recent[-1].area_ratio >= 0.15 * site.peak_area and change >= 0.03


def site_level(site: FireSite, pts_s: float, seen: bool) -> float:
    """Advance a site's score memory to ``pts_s`` and return it (see the module docstring)."""
    dt = max(0.0, pts_s - site.last_pts_s) if site.last_pts_s else 0.0
    site.last_pts_s = pts_s
    decayed = site.level * 0.5 ** (dt / _DECAY_HALF_S)
    if not seen:
        site.level = decayed
        site.above_since = None
        return site.level
    raw = raw_score(site, pts_s)
    # like the lifecycle: over _CONFIRM once, then over _HELD for _CONFIRM_S
    if raw >= _CONFIRM and site.above_since is None:
        site.above_since = pts_s
    elif raw < _HELD:
        site.above_since = None
    if site.above_since is not None and pts_s - site.above_since >= _CONFIRM_S - 1e-6:
        site.confirmed = True
    level = raw
    if site.confirmed:
        # only a confirmed site has a memory: a brief spike of an unconfirmed one is not held
        level = max(raw, decayed, _HOLD if _still_burning(site, pts_s) else 0.0)
    site.level = min(1.0, level)
    return site.level


def _report_fire(
    site: FireSite, pts_s: float, cues: dict[str, float], regions: dict[str, Box]
) -> None:
    """The best site's area, growth and recent outline change as cues, its last box as region."""
    last = site.obs[-1]
    recent = [o for o in site.obs if pts_s - o.pts_s <= _WINDOW_S]
    cues.update(
        {
            "fire_area_ratio": round(last.area_ratio, 4),
            "fire_growth_ratio": round(last.area_ratio / max(site.obs[0].area_ratio, 1e-9), 2),
            "fire_flicker": round(float(np.mean([o.flicker for o in recent[1:]] or [0.0])), 3),
        }
    )
    regions["fire"] = last.box
