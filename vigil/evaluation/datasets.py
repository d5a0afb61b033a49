"""Labelled clip sets: one reader per folder layout, and the auto-detection between them.

Layouts (``--layout``):

* ``truth-json``: ``<clip>.truth.json`` beside each video (what ``vigil sample-clip`` writes):
  ``{"events": [{"event_type" | "type", "start_s", "end_s"}, ...]}``; an optional
  ``"labelled": [types]`` limits the types it speaks for (default: all).
* ``class-folders``: ``DIR/<class>/<clip>.<ext>``; a class named after an event type (``fall``,
  ``falls``, ``fire``, ...) gives a clip-level event, a class named like ``negative``,
  ``normal``, ``adl``, ``nonfire`` a negative clip; other classes are skipped.
* ``urfall``, ``le2i``, ``caucafall``: the public fall datasets (:mod:`.datasets_fall`).
* ``firenet``, ``mivia``: the public fire video sets (:mod:`.datasets_fire`).

Auto-detection tries, in order: UR-Fall, Le2i, CAUCAFall, MIVIA, FireNet, truth-json, class
folders; the first layout that finds clips wins.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from engines.types import EVENT_TYPES
from vigil.evaluation.types import LabelledClip, TruthSpan

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mkv", ".mov", ".m4v", ".mpg", ".mpeg", ".webm"})

#: Class-folder names of negative footage (compared lower-case, without ``-``/``_``/spaces).
NEGATIVE_CLASSES = frozenset(
    {
        "negative",
        "negatives",
        "neg",
        "normal",
        "adl",
        "adls",
        "nonfire",
        "nofire",
        "nofall",
        "nonfall",
        "background",
        "none",
        "notfire",
        "notfall",
    }
)
#: Class-folder names of each event type.
EVENT_CLASSES: dict[str, str] = {
    **{ev: ev for ev in EVENT_TYPES},
    **{ev + "s": ev for ev in EVENT_TYPES},
    "falling": "fall",
    "flame": "fire",
    "flames": "fire",
}


@dataclass
class Dataset:
    """The clips a reader found, and what it had to skip (one line each)."""

    layout: str
    clips: list[LabelledClip] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


Reader = Callable[[Path], Dataset]


def videos(root: Path) -> Iterator[Path]:
    """Every video file under ``root``, sorted (hidden files and folders left out)."""
    for p in sorted(root.rglob("*")):
        if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file():
            rel = p.relative_to(root).parts
            if not any(part.startswith(".") for part in rel):
                yield p


def clip_name(root: Path, path: Path) -> str:
    """A clip's name for tables and reports: its path under the set's folder."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def fold(name: str) -> str:
    """A folder name lower-cased without separators (``Non-Fire`` -> ``nonfire``)."""
    return "".join(c for c in name.lower() if c.isalnum())


def read_truth_json(root: Path) -> Dataset:
    """Clips with a ``<clip>.truth.json`` beside them (other videos are skipped)."""
    out = Dataset("truth-json")
    for video in videos(root):
        truth = video.with_name(video.stem + ".truth.json")
        if not truth.is_file():
            out.skipped.append(f"{clip_name(root, video)}: no {truth.name}")
            continue
        try:
            events, labelled = _parse_truth(json.loads(truth.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError) as exc:
            out.skipped.append(f"{clip_name(root, video)}: unreadable {truth.name}: {exc}")
            continue
        out.clips.append(LabelledClip(video, clip_name(root, video), events, labelled, out.layout))
    return out


def _parse_truth(data: object) -> tuple[tuple[TruthSpan, ...], frozenset[str]]:
    """Events and labelled types of a truth file (a mapping with ``events``, or a list)."""
    items = data.get("events", []) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError("events must be a list")
    events = []
    for item in items:
        kind = item.get("event_type", item.get("type"))
        if not isinstance(kind, str):
            raise ValueError(f"event without a type: {item!r}")
        start, end = item.get("start_s"), item.get("end_s")
        events.append(
            TruthSpan(
                kind,
                None if start is None else float(start),
                None if end is None else float(end),
            )
        )
    labelled = data.get("labelled", []) if isinstance(data, dict) else []
    return tuple(events), frozenset(str(x) for x in labelled)


def read_class_folders(root: Path) -> Dataset:
    """``DIR/<class>/<clip>``: event classes give clip-level events, negative classes none."""
    out = Dataset("class-folders")
    found: list[tuple[Path, str | None]] = []
    for video in videos(root):
        rel = video.relative_to(root).parts
        if len(rel) < 2:
            out.skipped.append(f"{video.name}: not in a class folder")
            continue
        cls = fold(rel[0])
        if cls in EVENT_CLASSES:
            found.append((video, EVENT_CLASSES[cls]))
        elif cls in NEGATIVE_CLASSES:
            found.append((video, None))
        else:
            out.skipped.append(f"{clip_name(root, video)}: class {rel[0]!r} is no event type")
    types = frozenset(ev for _, ev in found if ev is not None)
    for video, ev in found:
        events = (TruthSpan(ev),) if ev is not None else ()
        out.clips.append(LabelledClip(video, clip_name(root, video), events, types, out.layout))
    return out


def readers() -> dict[str, Reader]:
    """Every layout's reader, in auto-detection order."""
    from vigil.evaluation.datasets_fall import read_caucafall, read_le2i, read_urfall
    from vigil.evaluation.datasets_fire import read_firenet, read_mivia

    return {
        "urfall": read_urfall,
        "le2i": read_le2i,
        "caucafall": read_caucafall,
        "mivia": read_mivia,
        "firenet": read_firenet,
        "truth-json": read_truth_json,
        "class-folders": read_class_folders,
    }


def read_dataset(root: Path, layout: str = "auto") -> Dataset:
    """The labelled clips under ``root`` (``layout`` auto: the first layout that finds any).

    Raises ValueError for an unknown layout.
    """
    table = readers()
    if layout != "auto":
        if layout not in table:
            raise ValueError(f"unknown layout {layout!r}; choose auto or {', '.join(table)}")
        return table[layout](root)
    for name, reader in table.items():
        data = reader(root)
        if data.clips:
            log.info("%s: %s layout, %d clip(s)", root, name, len(data.clips))
            return data
    return Dataset("none", skipped=[f"{root}: no labelled clip in any known layout"])
