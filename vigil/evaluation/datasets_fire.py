"""Readers of the public fire video sets: MIVIA fire detection and FireNet. Both label whole
videos (fire or not), so their events are clip-level: any fire incident in a fire video
matches, and the non-fire videos are negative footage for fire.

**MIVIA fire detection dataset** (Foggia, Saggese & Vento 2015;
mivia.unisa.it/datasets/video-analysis-datasets/fire-detection-dataset/). Confirmed from
public code that reads it: videos named ``fire1.avi`` ... ``fire31.avi`` in one folder.
Assumed (the dataset page, not checked here): videos 1-14 hold fire and 15-31 are the
negative ones (red objects, smoke, clouds, sunsets); any other number is skipped.

**FireNet** (Jadon et al. 2019, github.com/arpit-jadon/FireNet-LightWeight-Network-for-Fire-
Detection): its own footage, shared as fire and non-fire videos in two folders. Assumed: the
positive folder is named like ``Fire`` / ``positive`` and the negative one like ``NoFire`` /
``Non-Fire`` / ``negative``; the layout is taken only if every video under the folder lies in
one of those, so other class folders fall through to the ``class-folders`` layout.
"""

from __future__ import annotations

import re
from pathlib import Path

from vigil.evaluation.datasets import Dataset, clip_name, fold, videos
from vigil.evaluation.types import LabelledClip, TruthSpan

FIRE = frozenset({"fire"})
_MIVIA = re.compile(r"^fire(\d+)$", re.I)
MIVIA_POSITIVE = range(1, 15)
MIVIA_NEGATIVE = range(15, 32)
FIRENET_POSITIVE = frozenset({"fire", "fires", "firevideos", "positive", "positives", "pos"})
FIRENET_NEGATIVE = frozenset(
    {"nofire", "nonfire", "notfire", "nonfirevideos", "negative", "negatives", "neg"}
)


def read_mivia(root: Path) -> Dataset:
    """MIVIA: ``fireN.avi``, fire in videos 1-14, none in 15-31."""
    out = Dataset("mivia")
    for video in videos(root):
        m = _MIVIA.match(video.stem)
        if m is None:
            continue
        n = int(m[1])
        if n in MIVIA_POSITIVE:
            events: tuple[TruthSpan, ...] = (TruthSpan("fire"),)
        elif n in MIVIA_NEGATIVE:
            events = ()
        else:
            out.skipped.append(f"{clip_name(root, video)}: not one of MIVIA's fire1-fire31")
            continue
        out.clips.append(LabelledClip(video, clip_name(root, video), events, FIRE, out.layout))
    return out


def _firenet_class(video: Path, root: Path) -> bool | None:
    """True: under a fire folder, False: under a non-fire folder, None: neither."""
    for part in reversed(video.relative_to(root).parts[:-1]):
        name = fold(part)
        if name in FIRENET_POSITIVE:
            return True
        if name in FIRENET_NEGATIVE:
            return False
    return None


def read_firenet(root: Path) -> Dataset:
    """FireNet: fire videos under a ``Fire`` folder, the others under ``NoFire``."""
    out = Dataset("firenet")
    found = [(v, _firenet_class(v, root)) for v in videos(root)]
    if not found or any(cls is None for _, cls in found) or not any(cls for _, cls in found):
        return out
    for video, cls in found:
        events = (TruthSpan("fire"),) if cls else ()
        out.clips.append(LabelledClip(video, clip_name(root, video), events, FIRE, out.layout))
    return out
