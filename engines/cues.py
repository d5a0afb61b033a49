"""The weight-free ``cues`` scorer: OpenCV features per frame and temporal rules on them.

Per frame (downscaled): motion energy (frame difference), foreground blobs from a background
model (MOG2) with their box geometry, tracked across samples, and fire-coloured regions with a
bright core. Temporal rules over those features score:

* ``fall``: a tracked upright figure (box taller than wide) whose top drops by a large part of its
  height within about a second and ends wider than tall, low on the ground; the score then stays
  high while the figure lies there (confidence grows with stillness) and falls once the figure
  gets up or leaves. Bending, crouching and sitting keep the box near square and do not qualify.
* ``fire``: a stationary fire-coloured region (saturated red to yellow with a bright, pale core)
  whose shape flickers from sample to sample. Red and orange clothing does not flicker in place,
  and a walking person's colour moves with them; a static orange object does not flicker.

Scores are in ``[0, 1]`` and meant for thresholds near 0.6.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from engines.settings import CUES_EVENTS, CuesConfig
from engines.types import Box, Scores
from streamer.types import Frame, Window

log = logging.getLogger(__name__)

_MOTION_DIFF = 18  # grey levels that count as a changed pixel
_GLOBAL_CHANGE = 0.35  # foreground fraction that means a lighting change, not objects


@dataclass
class _Blob:
    x: float
    y: float
    w: float
    h: float
    area: float

    @property
    def top(self) -> float:
        return self.y

    @property
    def bottom(self) -> float:
        return self.y + self.h

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def iou(self, other: _Blob) -> float:
        x0, y0 = max(self.x, other.x), max(self.y, other.y)
        x1 = min(self.x + self.w, other.x + other.w)
        y1 = min(self.y + self.h, other.y + other.h)
        inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
        union = self.w * self.h + other.w * other.h - inter
        return inter / union if union > 0 else 0.0


@dataclass
class _Track:
    id: int
    history: deque[tuple[float, _Blob]] = field(default_factory=lambda: deque(maxlen=64))
    missed: int = 0

    @property
    def last(self) -> _Blob:
        return self.history[-1][1]


@dataclass
class _Fallen:
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


@dataclass
class _FireObs:
    pts_s: float
    area_ratio: float
    cx: float
    cy: float
    size_px: float
    flicker: float
    novel: float
    box: tuple[float, float, float, float]


@dataclass
class _FireSite:
    obs: deque[_FireObs] = field(default_factory=lambda: deque(maxlen=64))


@dataclass
class _CameraState:
    size: tuple[int, int]
    scale: float
    bg: cv2.BackgroundSubtractorMOG2
    prev_gray: np.ndarray | None = None
    prev_fire: np.ndarray | None = None
    prev_pts_s: float | None = None
    tracks: list[_Track] = field(default_factory=list)
    next_track: int = 0
    fallen: _Fallen | None = None
    fire_sites: list[_FireSite] = field(default_factory=list)
    frames: int = 0
    global_changes: int = 0


def _norm_patch(p: np.ndarray) -> np.ndarray:
    p = p.astype(np.float32)
    return p - float(p.mean())


def _smooth(x: float, lo: float, hi: float) -> float:
    """0 below lo, 1 above hi, smooth in between."""
    if hi <= lo:
        return 1.0 if x >= hi else 0.0
    u = min(1.0, max(0.0, (x - lo) / (hi - lo)))
    return u * u * (3 - 2 * u)


class CueScorer:
    """Scores ``fall`` and ``fire`` from OpenCV cues; keeps per-camera state."""

    name = "cues"

    def __init__(self, config: CuesConfig | None = None) -> None:
        self.config = config or CuesConfig()
        self._cams: dict[str, _CameraState] = {}

    @property
    def events(self) -> tuple[str, ...]:
        """Event types this scorer reports."""
        return CUES_EVENTS

    def reset(self, camera_id: str) -> None:
        """Forget a camera's background model, tracks and fire history."""
        self._cams.pop(camera_id, None)

    def close(self) -> None:
        """Drop all per-camera state."""
        self._cams.clear()

    def score_batch(self, frames: Sequence[Frame], windows: Sequence[Window]) -> list[Scores]:
        """Score each frame in order (per camera state advances frame by frame)."""
        if len(frames) != len(windows):
            raise ValueError(f"score_batch got {len(frames)} frames but {len(windows)} windows")
        return [self.score(f) for f in frames]

    # -- per frame -------------------------------------------------------------------------

    def _state(self, frame: Frame) -> _CameraState:
        st = self._cams.get(frame.camera_id)
        size = (frame.width, frame.height)
        if st is not None and st.size != size:
            log.info(
                "camera %s: resolution changed %sx%s -> %sx%s, cue state reset",
                frame.camera_id,
                st.size[0],
                st.size[1],
                size[0],
                size[1],
            )
            st = None
        if st is None:
            scale = min(1.0, self.config.max_side_px / max(size))
            bg = cv2.createBackgroundSubtractorMOG2(
                history=500, varThreshold=20, detectShadows=True
            )
            st = _CameraState(size=size, scale=scale, bg=bg)
            self._cams[frame.camera_id] = st
        return st

    def score(self, frame: Frame) -> Scores:
        """Advance the camera's state by one sampled frame and score it."""
        st = self._state(frame)
        img = frame.image
        if st.scale < 1.0:
            img = cv2.resize(img, None, fx=st.scale, fy=st.scale, interpolation=cv2.INTER_AREA)
        gray = cv2.GaussianBlur(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), (5, 5), 0)
        dt = frame.pts_s - st.prev_pts_s if st.prev_pts_s is not None else 0.0
        h, w = gray.shape

        motion = np.zeros_like(gray, dtype=bool)
        if st.prev_gray is not None:
            motion = cv2.absdiff(gray, st.prev_gray) > _MOTION_DIFF
        motion_energy = float(motion.mean())

        rate = 1.0 if st.frames == 0 else min(1.0, max(dt, 0.05) / self.config.background_history_s)
        fg = st.bg.apply(img, learningRate=rate)
        fg = (fg > 200).astype(np.uint8)
        fg_frac = float(fg.mean())
        global_change = st.frames > 0 and fg_frac > _GLOBAL_CHANGE
        if global_change:
            # lighting switched: relearn quickly, and read no objects from this frame
            st.global_changes += 1
            st.bg.apply(img, learningRate=0.5)
            blobs: list[_Blob] = []
        else:
            blobs = self._blobs(fg, w, h)
        self._track(st, blobs, frame.pts_s)

        cues: dict[str, float] = {
            "motion_energy": round(motion_energy, 4),
            "foreground_ratio": round(fg_frac, 4),
            "blob_count": float(len(blobs)),
        }
        regions: dict[str, Box] = {}
        fall = self._fall(st, gray, motion, frame.pts_s, global_change, cues, regions, w, h)
        fire = self._fire(st, img, fg, frame.pts_s, cues, regions, w, h)

        st.prev_gray = gray
        st.prev_pts_s = frame.pts_s
        st.frames += 1
        return Scores(
            camera_id=frame.camera_id,
            seq=frame.seq,
            pts_s=frame.pts_s,
            ts_s=frame.ts_s,
            events={"fall": round(fall, 4), "fire": round(fire, 4)},
            cues=cues,
            regions=regions,
            scorer=self.name,
        )

    # -- blobs and tracks ------------------------------------------------------------------

    def _blobs(self, fg: np.ndarray, w: int, h: int) -> list[_Blob]:
        k3 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        k9 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
        m = cv2.morphologyEx(fg, cv2.MORPH_OPEN, k3)
        m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, k9)
        n, _, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
        min_area = self.config.min_blob_area * w * h
        out = []
        for i in range(1, n):
            x, y, bw, bh, area = (float(v) for v in stats[i])
            if area >= min_area:
                out.append(_Blob(x, y, bw, bh, area))
        return out

    def _track(self, st: _CameraState, blobs: list[_Blob], pts_s: float) -> None:
        unmatched = list(range(len(blobs)))
        pairs: list[tuple[float, int, int]] = []
        for ti, tr in enumerate(st.tracks):
            last = tr.last
            gate = 0.9 * max(last.w, last.h)
            for bi, b in enumerate(blobs):
                d = math.hypot(b.cx - last.cx, b.bottom - last.bottom)
                iou = last.iou(b)
                if iou > 0.05 or d < gate:
                    pairs.append((d * (1.0 - iou), ti, bi))
        pairs.sort()
        used_t: set[int] = set()
        for _, ti, bi in pairs:
            if ti in used_t or bi not in unmatched:
                continue
            used_t.add(ti)
            unmatched.remove(bi)
            st.tracks[ti].history.append((pts_s, blobs[bi]))
            st.tracks[ti].missed = 0
        for ti, tr in enumerate(st.tracks):
            if ti not in used_t:
                tr.missed += 1
        st.tracks = [t for t in st.tracks if t.missed <= 3]
        for bi in unmatched:
            tr = _Track(st.next_track)
            st.next_track += 1
            tr.history.append((pts_s, blobs[bi]))
            st.tracks.append(tr)

    # -- fall ------------------------------------------------------------------------------

    @staticmethod
    def _fall_transition(tr: _Track, pts_s: float) -> tuple[float, float, float] | None:
        """(height drop ratio, drop seconds, aspect) if this track just fell, else None."""
        if tr.missed or len(tr.history) < 2:
            return None
        now = tr.last
        aspect = now.w / max(now.h, 1.0)
        if aspect < 1.25:
            return None
        # the most recent upright sample within the last 2 s
        for t, b in reversed(list(tr.history)[:-1]):
            if pts_s - t > 2.0:
                break
            if b.h / max(b.w, 1.0) < 1.5:
                continue
            drop = (now.top - b.top) / b.h
            height_ratio = now.h / b.h
            ground = now.bottom >= b.bottom - 0.35 * b.h
            if drop >= 0.4 and height_ratio <= 0.6 and ground:
                return drop, pts_s - t, aspect
            return None
        return None

    def _fall(
        self,
        st: _CameraState,
        gray: np.ndarray,
        motion: np.ndarray,
        pts_s: float,
        global_change: bool,
        cues: dict[str, float],
        regions: dict[str, Box],
        w: int,
        h: int,
    ) -> float:
        if st.fallen is None or st.fallen.ended_pts_s is not None:
            for tr in st.tracks:
                found = self._fall_transition(tr, pts_s)
                if found is None:
                    continue
                drop, drop_s, aspect = found
                if drop_s > 1.6:
                    continue
                b = tr.last
                x0, y0 = int(b.x), int(b.y)
                x1, y1 = int(b.x + b.w), int(b.y + b.h)
                bgimg = st.bg.getBackgroundImage()
                bg_gray = cv2.GaussianBlur(cv2.cvtColor(bgimg, cv2.COLOR_BGR2GRAY), (5, 5), 0)
                st.fallen = _Fallen(
                    track_id=tr.id,
                    box=(x0, y0, x1, y1),
                    since_pts_s=pts_s,
                    drop_ratio=drop,
                    drop_s=drop_s,
                    aspect=aspect,
                    ref=_norm_patch(gray[y0:y1, x0:x1]),
                    bg=_norm_patch(bg_gray[y0:y1, x0:x1]),
                    still_since_pts_s=pts_s,
                )
                break
        fl = st.fallen
        if fl is None:
            return 0.0
        x0, y0, x1, y1 = fl.box
        if fl.ended_pts_s is None:
            patch = _norm_patch(gray[y0:y1, x0:x1])
            d_ref = float(np.abs(patch - fl.ref).mean())
            d_bg = float(np.abs(patch - fl.bg).mean())
            moving = float(motion[y0:y1, x0:x1].mean()) > 0.08 and not global_change
            if moving:
                fl.still_since_pts_s = pts_s
            # the fallen figure's own track standing upright again, near where it lay
            upright = any(
                t.id == fl.track_id and t.missed == 0 and t.last.h / max(t.last.w, 1.0) >= 1.5
                for t in st.tracks
            )
            # where it lay looks like the background again (passers-by look like neither)
            vacated = d_ref > 6.0 and d_bg < 0.6 * d_ref
            fl.leaving = fl.leaving + 1 if (vacated or (upright and d_bg < d_ref)) else 0
            if fl.leaving >= 2:
                fl.ended_pts_s = pts_s
                log.debug("fall state ended (upright=%s vacated=%s)", upright, vacated)
        if fl.ended_pts_s is not None:
            # decay over a couple of seconds, then forget
            age = pts_s - fl.ended_pts_s
            if age > 3.0:
                st.fallen = None
                return 0.0
            return max(0.0, 0.5 - 0.2 * age)
        still_s = pts_s - fl.still_since_pts_s
        speed = 1.0 if fl.drop_s <= 1.1 else 0.85
        score = speed * (0.72 + 0.28 * _smooth(still_s, 0.0, 5.0))
        cues.update(
            {
                "fall_height_drop_ratio": round(fl.drop_ratio, 3),
                "fall_drop_duration_s": round(fl.drop_s, 2),
                "fall_still_s": round(still_s, 1),
                "fall_aspect_ratio": round(fl.aspect, 2),
            }
        )
        regions["fall"] = (x0 / w, y0 / h, x1 / w, y1 / h)
        return min(1.0, score)

    # -- fire ------------------------------------------------------------------------------

    @staticmethod
    def _fire_mask(img: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(candidate mask, pale bright core, saturated flame colour) of a BGR image."""
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
        hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
        colour = ((hue <= 34) | (hue >= 172)) & (sat >= 130) & (val >= 170)
        core = (hue >= 12) & (hue <= 40) & (sat >= 30) & (sat <= 150) & (val >= 230)
        return (colour | core).astype(np.uint8), core, colour

    def _fire(
        self,
        st: _CameraState,
        img: np.ndarray,
        fg: np.ndarray,
        pts_s: float,
        cues: dict[str, float],
        regions: dict[str, Box],
        w: int,
        h: int,
    ) -> float:
        mask, core, colour = self._fire_mask(img)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        prev = st.prev_fire
        st.prev_fire = mask
        min_area = 0.0008 * w * h
        seen: list[_FireSite] = []
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
            site = self._fire_site(st, cx, cy, math.sqrt(area), pts_s)
            flicker = 0.0
            if prev is not None and site.obs:
                # compare with the previous sample shifted by the region's own motion, so a
                # moving coloured object (clothing) does not count as flicker
                last = site.obs[-1]
                dx, dy = round(cx - last.cx), round(cy - last.cy)
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
                flicker = float((a ^ b).sum()) / union if union else 0.0
            box = (x / w, y / h, (x + bw) / w, (y + bh) / h)
            site.obs.append(
                _FireObs(pts_s, area / (w * h), cx, cy, math.sqrt(area), flicker, novel, box)
            )
            seen.append(site)
        st.fire_sites = [s for s in st.fire_sites if s in seen or pts_s - s.obs[-1].pts_s <= 1.5]
        best, best_site = 0.0, None
        for site in seen:
            sc = self._fire_site_score(site, pts_s)
            if sc > best or best_site is None:
                best, best_site = sc, site
        if best_site is None:
            return 0.0
        last = best_site.obs[-1]
        recent = [o for o in best_site.obs if pts_s - o.pts_s <= 3.0]
        cues.update(
            {
                "fire_area_ratio": round(last.area_ratio, 4),
                "fire_growth_ratio": round(
                    last.area_ratio / max(best_site.obs[0].area_ratio, 1e-9), 2
                ),
                "fire_flicker": round(float(np.mean([o.flicker for o in recent[1:]] or [0.0])), 3),
            }
        )
        regions["fire"] = last.box
        return best

    @staticmethod
    def _fire_site(st: _CameraState, cx: float, cy: float, size: float, pts_s: float) -> _FireSite:
        """The fire site a candidate region belongs to (a new one if none is close)."""
        for site in st.fire_sites:
            o = site.obs[-1]
            if o.pts_s < pts_s and math.hypot(o.cx - cx, o.cy - cy) <= 1.2 * max(size, 8.0):
                return site
        site = _FireSite()
        st.fire_sites.append(site)
        return site

    @staticmethod
    def _fire_site_score(site: _FireSite, pts_s: float) -> float:
        """Flicker in place: shape changes between samples while the centroid stays put."""
        recent = [o for o in site.obs if pts_s - o.pts_s <= 3.0]
        if len(recent) < 3:
            return 0.0
        last = recent[-1]
        spread = max(math.hypot(o.cx - last.cx, o.cy - last.cy) for o in recent)
        stationary = 1.0 - _smooth(spread / max(last.size_px, 1.0), 0.35, 0.8)
        flick = float(np.mean([o.flicker for o in recent[1:]]))
        # new in the scene when it appeared (a long fire slowly joins the background model);
        # the median over its first samples, so a static object that is briefly occluded
        # (its edges turn foreground for a moment) does not count as new
        novel = float(np.median([o.novel for o in list(site.obs)[:6]]))
        score = _smooth(flick, 0.07, 0.18) * stationary * _smooth(novel, 0.25, 0.5)
        return float(min(1.0, max(0.0, score)))
