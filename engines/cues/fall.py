"""The ``fall`` cue: a tracked upright figure drops, then lies there until it gets up or leaves.

A fall starts when a track's box turns from taller-than-wide to wider-than-tall, its top dropping
by a large part of its height within about 1.6 s and its bottom staying near the ground. While
the figure lies there the score stays high (growing with stillness); it decays once the figure's
own track stands upright again or the place looks like the background again.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from engines.cues.state import Blob, CameraState, Fallen, Track, norm_patch, smooth
from engines.types import Box

log = logging.getLogger(__name__)

_LEAVE_S = 0.9  # where the figure lay looks like the background this long: it left
_GETUP_S = 3.0  # its track stands upright there this long: it got up


def fall_transition(tr: Track, pts_s: float) -> tuple[float, float, float] | None:
    """(height drop ratio, drop seconds, aspect) if this track just fell, else None."""
    if tr.missed or len(tr.history) < 2:
        return None
    now = tr.last
    if now.edge:
        return None  # cut off by the frame's border: its shape says nothing yet
    aspect = now.w / max(now.h, 1.0)
    if aspect < 1.25:
        return None
    # the most recent upright sample within the last 2 s
    hist = list(tr.history)
    for k in range(len(hist) - 2, -1, -1):
        t, b = hist[k]
        if pts_s - t > 2.0:
            break
        if b.edge or b.h / max(b.w, 1.0) < 1.5:
            continue
        if k == 0 or not 0.75 <= b.h / max(hist[k - 1][1].h, 1.0) <= 1.33:
            continue  # not standing the sample before (two blobs merging look tall for once)
        drop = (now.top - b.top) / b.h
        height_ratio = now.h / b.h
        ground = now.bottom >= b.bottom - 0.35 * b.h
        # a body that lies down spreads sideways, and the image changes where it fell; a
        # background-model ghost being absorbed shrinks in place with nothing moving there
        recent = [s for ts, s in hist if pts_s - ts <= 2.0]
        upright_w = min(s.w for s in recent if not s.edge and s.h / max(s.w, 1.0) >= 1.5)
        wider = now.w >= 1.4 * upright_w
        moved = max(s.motion for _, s in hist[k:]) >= 0.08
        if drop >= 0.4 and height_ratio <= 0.6 and ground and wider and moved:
            return drop, pts_s - t, aspect
        return None
    return None


def fall_score(
    st: CameraState,
    gray: np.ndarray,
    motion: np.ndarray,
    pts_s: float,
    global_change: bool,
    cues: dict[str, float],
    regions: dict[str, Box],
    w: int,
    h: int,
) -> float:
    """Advance the camera's fall state by one sample and score it (adds cues and a region)."""
    if st.fallen is None or st.fallen.ended_pts_s is not None:
        _start_fall(st, gray, pts_s)
    fl = st.fallen
    if fl is None:
        return 0.0
    if fl.ended_pts_s is None:
        _follow_fallen(st, fl, gray, motion, pts_s, global_change)
    if fl.ended_pts_s is not None:
        # decay over a couple of seconds, then forget
        age = pts_s - fl.ended_pts_s
        if age > 3.0:
            st.fallen = None
            return 0.0
        return max(0.0, 0.5 - 0.2 * age)
    return _lying_score(fl, pts_s, cues, regions, w, h)


def _burning(st: CameraState, b: Blob, w: int, h: int) -> bool:
    """Whether a blob is mostly a flame the fire cue follows (a flickering flame's top drops
    like a falling figure's)."""
    area = b.w * b.h
    for site in st.fire_sites:
        if site.level < 0.4 or not site.obs or area <= 0:
            continue
        x0, y0, x1, y1 = site.obs[-1].box
        ix = min(b.x + b.w, x1 * w) - max(b.x, x0 * w)
        iy = min(b.y + b.h, y1 * h) - max(b.y, y0 * h)
        if ix > 0 and iy > 0 and ix * iy >= 0.5 * area:
            return True
    return False


def _start_fall(st: CameraState, gray: np.ndarray, pts_s: float) -> None:
    """Record the first track that just fell fast enough as the camera's fallen figure."""
    if st.hold_fall:
        return  # the view moved or the light stepped this sample: its blobs are not figures
    for tr in st.tracks:
        found = fall_transition(tr, pts_s)
        if found is None:
            continue
        drop, drop_s, aspect = found
        b = tr.last
        if drop_s > 1.6 or _burning(st, b, gray.shape[1], gray.shape[0]):
            continue
        x0, y0 = int(b.x), int(b.y)
        x1, y1 = int(b.x + b.w), int(b.y + b.h)
        bgimg = st.bg.getBackgroundImage()
        bg_gray = cv2.GaussianBlur(cv2.cvtColor(bgimg, cv2.COLOR_BGR2GRAY), (5, 5), 0)
        st.fallen = Fallen(
            track_id=tr.id,
            box=(x0, y0, x1, y1),
            since_pts_s=pts_s,
            drop_ratio=drop,
            drop_s=drop_s,
            aspect=aspect,
            ref=norm_patch(gray[y0:y1, x0:x1]),
            bg=norm_patch(bg_gray[y0:y1, x0:x1]),
            still_since_pts_s=pts_s,
        )
        break


def _follow_fallen(
    st: CameraState,
    fl: Fallen,
    gray: np.ndarray,
    motion: np.ndarray,
    pts_s: float,
    global_change: bool,
) -> None:
    """Update stillness, and end the fall once the figure left (two samples and ``_LEAVE_S``
    running) or stood up where it lay (``_GETUP_S``)."""
    x0, y0, x1, y1 = fl.box
    patch = norm_patch(gray[y0:y1, x0:x1])
    d_ref = float(np.abs(patch - fl.ref).mean())
    d_bg = float(np.abs(patch - fl.bg).mean())
    moving = float(motion[y0:y1, x0:x1].mean()) > 0.08 and not global_change
    if moving:
        fl.still_since_pts_s = pts_s
    # the fallen figure's own track standing upright again, near where it lay; once that track
    # lost the figure (a still figure fades into the background model) a blob it picks up
    # later may be someone else standing there, so it no longer says the figure got up
    own = next((t for t in st.tracks if t.id == fl.track_id), None)
    if own is None or own.missed:
        fl.track_lost = True
    upright = not fl.track_lost and own is not None and own.last.h / max(own.last.w, 1.0) >= 1.5
    # where it lay looks like the background again (passers-by look like neither)
    vacated = d_ref > 6.0 and d_bg < 0.6 * d_ref
    if global_change:
        return  # a lighting change alone does not end a fall: judge it on the next sample
    # the place vacated for _LEAVE_S, or the figure upright there for _GETUP_S (a passer-by
    # crossing it takes the lying figure's track for a moment, and looks upright)
    fl.leaving = fl.leaving + 1 if vacated else 0
    if not vacated:
        fl.leaving_since = None
    elif fl.leaving_since is None:
        fl.leaving_since = pts_s
    if not (upright and d_bg < d_ref):
        fl.upright_since = None
    elif fl.upright_since is None:
        fl.upright_since = pts_s
    left = fl.leaving >= 2 and pts_s - (fl.leaving_since or pts_s) >= _LEAVE_S
    if left or (fl.upright_since is not None and pts_s - fl.upright_since >= _GETUP_S):
        fl.ended_pts_s = pts_s
        log.debug("fall state ended (upright=%s vacated=%s)", upright, vacated)


def _lying_score(
    fl: Fallen, pts_s: float, cues: dict[str, float], regions: dict[str, Box], w: int, h: int
) -> float:
    """The score while the figure lies there: higher for a fast drop and growing with stillness."""
    x0, y0, x1, y1 = fl.box
    still_s = pts_s - fl.still_since_pts_s
    speed = 1.0 if fl.drop_s <= 1.1 else 0.85
    score = speed * (0.72 + 0.28 * smooth(still_s, 0.0, 5.0))
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
