"""Readers of the public fall datasets: UR-Fall, Le2i and CAUCAFall (a user who has one
downloaded points ``vigil eval`` at its folder; nothing is downloaded here).

Frame numbers become seconds through the video's own frame rate (read from the file).

**UR Fall Detection** (Kwolek & Kepski, University of Rzeszow;
fenix.univ.rzeszow.pl/~mkepski/ds/uf.html). Confirmed from the dataset page and from public
code that reads it: 30 fall and 40 ADL sequences named ``fall-NN`` / ``adl-NN``, camera 0
parallel to the floor (ADLs have camera 0 only), the per-frame labels in
``urfall-cam0-falls.csv`` / ``urfall-cam0-adls.csv`` whose first three columns are sequence
name, frame number and label (-1 not lying, 0 falling, 1 lying on the ground). Assumed: the
videos are ``fall-NN-cam0.mp4`` / ``adl-NN-cam0.mp4`` (the page's preview videos; ``.avi``
also taken) anywhere under the folder, frame numbers start at 1, and the fall event spans the
first to the last frame labelled 0 or 1. Camera 1 videos are left out (the labels are camera
0's). A fall video without labels in the CSV is kept as a clip-level fall; ADLs are negative.

**Le2i** (Charfi et al., ImViA, Université de Bourgogne). Confirmed from public parsers of it:
scene folders (``Coffee_room_01``, ``Home_01``, ...; sometimes nested twice) holding
``Annotation_files/video (N).txt`` and ``Videos/video (N).avi``; an annotation's first two
lines are the fall's start and end frame, the following lines per-frame boxes. Scenes without
annotations (``Lecture_room``, ``Office`` in some copies) are skipped. Assumed: frame numbers
start at 1, a start or end of 0 (or no two numbers on top) means the video has no fall, and the
folder may also be spelled ``Annotations_files``.

**CAUCAFall** (Eraso Guerrero et al., Data in Brief 2022; Mendeley 7w7fccy7ky). Confirmed:
``CAUCAFall/Subject.N/<activity>/`` with the activity's video (``FallBackwardsS1.avi``), its
frames as images and one YOLO-style ``.txt`` label per frame; five fall activities (``Fall
backwards``, ``Fall forward``, ``Fall left``, ``Fall right``, ``Fall sitting``) and five ADLs
(``Hop``, ``Kneel``, ``Pick up object``, ``Sit down``, ``Walk``); frames with a fall are
labelled ``fall``, the others ``nofall``. Assumed: the class id of ``fall`` is taken from a
``classes.txt`` when there is one, else it is the id that appears in fall folders and never in
ADL folders (0 if that cannot be told); label files are ordered by the last number in their
name, the n-th one being the video's n-th frame. The fall event spans the first to the last
fall frame; a fall activity without label files is a clip-level fall.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from pathlib import Path

from vigil.evaluation.datasets import Dataset, clip_name, videos
from vigil.evaluation.types import LabelledClip, TruthSpan

FALL = frozenset({"fall"})
_UR_VIDEO = re.compile(r"^(fall|adl)-(\d+)-cam0$", re.I)
_LE2I_ANN_DIRS = frozenset({"annotation_files", "annotations_files"})
_NUMBER = re.compile(r"(\d+)")


def probe_fps(path: Path, default: float = 25.0) -> float:
    """The video's frame rate (``default`` when the file does not say)."""
    import av

    try:
        with av.open(str(path)) as container:
            rate = container.streams.video[0].average_rate
            return float(rate) if rate else default
    except (OSError, ValueError, IndexError, av.error.FFmpegError):
        return default


def _span(first: int, last: int, fps: float, base: int = 1) -> TruthSpan:
    """A fall from frame ``first`` to frame ``last`` (numbered from ``base``)."""
    return TruthSpan("fall", round((first - base) / fps, 3), round((last - base + 1) / fps, 3))


# -- UR-Fall -------------------------------------------------------------------------------


def urfall_labels(root: Path) -> dict[str, dict[int, int]]:
    """Per sequence (``fall-01``), frame number -> label, from every ``urfall-cam0-*.csv``."""
    out: dict[str, dict[int, int]] = {}
    for path in sorted(root.rglob("urfall-cam0-*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.reader(fh):
                if len(row) < 3:
                    continue
                m = re.search(r"(fall|adl)-?(\d+)", row[0].strip().lower())
                try:
                    frame, label = int(float(row[1])), int(float(row[2]))
                except ValueError:
                    continue  # a header
                if m is not None:
                    out.setdefault(f"{m[1]}-{int(m[2]):02d}", {})[frame] = label
    return out


def read_urfall(root: Path) -> Dataset:
    """UR Fall Detection: ``fall-NN-cam0.mp4`` / ``adl-NN-cam0.mp4`` with the label CSVs."""
    out = Dataset("urfall")
    found = [(v, _UR_VIDEO.match(v.stem)) for v in videos(root)]
    found_ur = [(v, m) for v, m in found if m is not None]
    if not found_ur:
        return out
    labels = urfall_labels(root)
    for video, m in found_ur:
        seq = f"{m[1].lower()}-{int(m[2]):02d}"
        events: tuple[TruthSpan, ...] = ()
        if seq.startswith("fall"):
            down = sorted(f for f, lab in labels.get(seq, {}).items() if lab >= 0)
            if down:
                events = (_span(down[0], down[-1], probe_fps(video, 30.0)),)
            else:
                events = (TruthSpan("fall"),)
                out.skipped.append(f"{seq}: no frame labels; counted as a clip-level fall")
        out.clips.append(LabelledClip(video, clip_name(root, video), events, FALL, out.layout))
    return out


# -- Le2i ----------------------------------------------------------------------------------


def le2i_fall_frames(text: str) -> tuple[int, int] | None:
    """The fall's (start, end) frames of a Le2i annotation (None: no fall)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if len(lines) < 2 or not (lines[0].isdigit() and lines[1].isdigit()):
        return None
    start, end = int(lines[0]), int(lines[1])
    if start <= 0 or end <= 0 or end < start:
        return None
    return start, end


def read_le2i(root: Path) -> Dataset:
    """Le2i: ``<scene>/Annotation_files/<video>.txt`` beside ``<scene>/Videos/<video>.avi``."""
    out = Dataset("le2i")
    ann_dirs = [
        d for d in sorted(root.rglob("*")) if d.is_dir() and d.name.lower() in _LE2I_ANN_DIRS
    ]
    for ann_dir in ann_dirs:
        video_dir = next(
            (d for d in ann_dir.parent.iterdir() if d.is_dir() and d.name.lower() == "videos"),
            None,
        )
        for ann in sorted(ann_dir.glob("*.txt")):
            video = _le2i_video(video_dir, ann.stem)
            if video is None:
                out.skipped.append(f"{clip_name(root, ann)}: no video of that name")
                continue
            frames = le2i_fall_frames(ann.read_text(encoding="utf-8", errors="replace"))
            events = () if frames is None else (_span(*frames, probe_fps(video)),)
            out.clips.append(LabelledClip(video, clip_name(root, video), events, FALL, out.layout))
    if out.clips:
        labelled = {c.path for c in out.clips}
        out.skipped += [
            f"{clip_name(root, v)}: no annotation" for v in videos(root) if v not in labelled
        ]
    return out


def _le2i_video(video_dir: Path | None, stem: str) -> Path | None:
    if video_dir is None:
        return None
    return next((v for v in sorted(video_dir.iterdir()) if v.stem == stem and v.is_file()), None)


# -- CAUCAFall -----------------------------------------------------------------------------


def _label_files(folder: Path) -> list[Path]:
    """A CAUCAFall activity's per-frame label files, in frame order."""
    files = [p for p in folder.glob("*.txt") if p.name.lower() != "classes.txt"]

    def key(p: Path) -> tuple[int, str]:
        nums = _NUMBER.findall(p.stem)
        return (int(nums[-1]) if nums else -1, p.name)

    return sorted(files, key=key)


def _class_ids(path: Path) -> set[int]:
    ids: set[int] = set()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        tok = line.split()
        if tok and tok[0].isdigit():
            ids.add(int(tok[0]))
    return ids


def caucafall_fall_id(activities: Iterable[tuple[Path, bool]]) -> int:
    """The class id of ``fall``: from ``classes.txt``, else the id only fall folders use."""
    in_fall: set[int] = set()
    in_adl: set[int] = set()
    for folder, is_fall in activities:
        classes = folder / "classes.txt"
        if classes.is_file():
            names = [ln.strip().lower() for ln in classes.read_text(encoding="utf-8").splitlines()]
            if "fall" in names:
                return names.index("fall")
        for f in _label_files(folder):
            (in_fall if is_fall else in_adl).update(_class_ids(f))
    only_fall = sorted(in_fall - in_adl)
    return only_fall[0] if len(only_fall) == 1 else 0


def read_caucafall(root: Path) -> Dataset:
    """CAUCAFall: ``Subject.N/<activity>/`` with the video and per-frame label files."""
    out = Dataset("caucafall")
    subjects = [d for d in sorted(root.rglob("Subject.*")) if d.is_dir()]
    activities = [
        (a, a.name.lower().startswith("fall"))
        for s in subjects
        for a in sorted(s.iterdir())
        if a.is_dir()
    ]
    fall_id = caucafall_fall_id(activities)
    for folder, is_fall in activities:
        video = next(iter(videos(folder)), None)
        if video is None:
            out.skipped.append(f"{clip_name(root, folder)}: no video")
            continue
        events: tuple[TruthSpan, ...] = ()
        if is_fall:
            marks = [fall_id in _class_ids(f) for f in _label_files(folder)]
            hits = [i for i, hit in enumerate(marks) if hit]
            events = (
                (_span(hits[0], hits[-1], probe_fps(video, 23.0), base=0),)
                if hits
                else (TruthSpan("fall"),)
            )
        out.clips.append(LabelledClip(video, clip_name(root, video), events, FALL, out.layout))
    return out
