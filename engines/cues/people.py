"""Person-sized tracks of the cue scorer, for ``intrusion``: who is in the picture, and where.

A foreground track counts as a person once it is upright (taller than wide), big enough and
has walked (its ground point moved by a good part of its height): a plume of smoke or a shadow
that grows in place does not walk in. The background model slowly learns a person who stands
still, and their track ends; such a person is kept, under the same id, for as long as the
picture at their box still looks like them (and a track that starts where they stand takes the
id over when they walk on). The scorer reports the people's boxes as ``Scores.tracks``; the
detectors score intrusion per person inside the camera's zones with a dwell time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from engines.cues.smoke import SmokeState, smoke_score
from engines.cues.state import Blob, CameraState, Track
from engines.types import Box

_HOLD_S = 120.0  # longest a still person is kept without a track
_SAME_LOOK = 9.0  # mean grey-level difference under which the box still shows the person


@dataclass
class Person:
    """A person followed across samples (boxes in the scorer's downscaled pixels)."""

    pid: int
    track_id: int | None
    blob: Blob
    patch: np.ndarray
    last_seen_pts_s: float


@dataclass
class CueExtras:
    """The state of the smoke cue and of the people of one camera."""

    size: tuple[int, int]
    smoke: SmokeState = field(default_factory=SmokeState)
    people: dict[int, Person] = field(default_factory=dict)
    next_pid: int = 0
    #: the people's boxes (normalised) of the last sample
    boxes: dict[int, Box] = field(default_factory=dict)


def _walked(tr: Track) -> bool:
    """Upright, and its ground point moved by at least 0.3 of its height (it walked in)."""
    b = tr.last
    if not (1.2 * b.w <= b.h <= 6.0 * b.w):
        return False
    first = tr.history[0][1]
    moved = max(math.hypot(o.cx - first.cx, o.bottom - first.bottom) for _, o in tr.history)
    return moved >= 0.3 * b.h


def _patch(gray: np.ndarray, b: Blob) -> np.ndarray:
    x0, y0 = int(b.x), int(b.y)
    return gray[y0 : y0 + max(1, int(b.h)), x0 : x0 + max(1, int(b.w))].astype(np.float32)


def _still_there(p: Person, gray: np.ndarray) -> bool:
    """Whether the picture at a person's last box still looks like them."""
    cur = _patch(gray, p.blob)
    if cur.shape != p.patch.shape or cur.size == 0:
        return False
    return float(np.abs(cur - p.patch).mean()) < _SAME_LOOK


def _near(p: Person, b: Blob) -> bool:
    """A new track that starts at a held person's place."""
    d = math.hypot(p.blob.cx - b.cx, p.blob.bottom - b.bottom)
    return p.blob.iou(b) > 0.2 or d < 0.5 * max(p.blob.h, b.h)


def _overlaps(b: Blob, box: Box, w: int, h: int) -> bool:
    """Whether a good part (a quarter) of a blob lies inside a normalised box."""
    x0, y0 = max(b.x, box[0] * w), max(b.y, box[1] * h)
    x1, y1 = min(b.x + b.w, box[2] * w), min(b.bottom, box[3] * h)
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return inter > 0.25 * b.w * b.h


def people_boxes(
    ex: CueExtras,
    tracks: list[Track],
    gray: np.ndarray,
    pts_s: float,
    avoid: Box | None,
) -> dict[int, Box]:
    """Update the camera's people from this sample's tracks; their normalised boxes by id.

    ``avoid``: a region (smoke) whose tracks are not people.
    """
    h, w = gray.shape
    by_track = {p.track_id: p for p in ex.people.values() if p.track_id is not None}
    live = [t for t in tracks if t.missed == 0]
    seen: set[int] = set()
    for tr in live:
        p = by_track.get(tr.id)
        if p is None:
            if not _walked(tr) or (avoid is not None and _overlaps(tr.last, avoid, w, h)):
                continue
            held = [q for q in ex.people.values() if q.track_id is None and _near(q, tr.last)]
            if held:
                p = held[0]
                p.track_id = tr.id
            else:
                p = Person(ex.next_pid, tr.id, tr.last, _patch(gray, tr.last), pts_s)
                ex.next_pid += 1
                ex.people[p.pid] = p
        p.blob, p.patch, p.last_seen_pts_s = tr.last, _patch(gray, tr.last), pts_s
        seen.add(p.pid)
    alive = {t.id for t in tracks}
    for p in list(ex.people.values()):
        if p.pid in seen:
            continue
        if p.track_id is not None and p.track_id in alive:
            seen.add(p.pid)  # its track missed a sample or two
            continue
        p.track_id = None
        if pts_s - p.last_seen_pts_s <= _HOLD_S and _still_there(p, gray):
            seen.add(p.pid)
        else:
            del ex.people[p.pid]
    ex.boxes = {
        pid: (p.blob.x / w, p.blob.y / h, (p.blob.x + p.blob.w) / w, p.blob.bottom / h)
        for pid, p in ex.people.items()
        if pid in seen
    }
    return ex.boxes


def smoke_and_people(
    ex: CueExtras,
    st: CameraState,
    img: np.ndarray,
    fg: np.ndarray,
    gray: np.ndarray,
    pts_s: float,
    cues: dict[str, float],
    regions: dict[str, Box],
) -> tuple[float, dict[int, Box]]:
    """This sample's smoke score and people (the intrusion region: the biggest person)."""
    if ex.size != st.size:  # the resolution changed: start again
        ex.size, ex.smoke, ex.people, ex.boxes = st.size, SmokeState(), {}, {}
    smoke = smoke_score(ex.smoke, img, fg, pts_s, cues, regions, list(ex.boxes.values()))
    people = people_boxes(ex, st.tracks, gray, pts_s, regions.get("smoke"))
    if people:
        regions["intrusion"] = max(people.values(), key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
    return smoke, people
