"""Foreground blobs of the cue scorer and their tracks across samples."""

from __future__ import annotations

import math

import cv2
import numpy as np

from engines.cues.state import Blob, CameraState, Track

_EDGE_PX = 3  # a box this close to the border of what the camera saw is cut off


def find_blobs(
    fg: np.ndarray,
    w: int,
    h: int,
    min_blob_area: float,
    inner: tuple[int, int, int, int] | None = None,
    motion: np.ndarray | None = None,
) -> list[Blob]:
    """Cleaned-up foreground components at least ``min_blob_area`` of the frame.

    A blob whose box comes within a few pixels of the frame's border, or of the border of
    ``inner`` (the part of a stabilised frame the camera saw), is marked ``edge``; ``motion``
    (the frame difference) gives each blob the share of its box that changed since the last
    sample (a background-model artefact such as a ghost changes nothing in the image).
    """
    x0, y0, x1, y1 = inner or (0, 0, w, h)
    x0, y0 = max(x0, 0) + _EDGE_PX, max(y0, 0) + _EDGE_PX
    x1, y1 = min(x1, w) - _EDGE_PX, min(y1, h) - _EDGE_PX
    k3 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    k9 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
    m = cv2.morphologyEx(fg, cv2.MORPH_OPEN, k3)
    m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, k9)
    n, _, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    min_area = min_blob_area * w * h
    out = []
    for i in range(1, n):
        x, y, bw, bh, area = (float(v) for v in stats[i])
        if area >= min_area:
            edge = x < x0 or y < y0 or x + bw > x1 or y + bh > y1
            box = (slice(int(y), int(y + bh)), slice(int(x), int(x + bw)))
            moved = float(motion[box].mean()) if motion is not None else 1.0
            out.append(Blob(x, y, bw, bh, area, edge, moved))
    return out


def update_tracks(st: CameraState, blobs: list[Blob], pts_s: float) -> None:
    """Match this sample's blobs to the camera's tracks (greedy), start tracks for the rest."""
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
        tr = Track(st.next_track)
        st.next_track += 1
        tr.history.append((pts_s, blobs[bi]))
        st.tracks.append(tr)
