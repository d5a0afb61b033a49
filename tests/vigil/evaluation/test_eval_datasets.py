"""Each dataset reader on a tiny folder that mimics its public layout (clips of a few frames)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from vigil.evaluation.datasets import read_dataset
from vigil.evaluation.types import TruthSpan


def _video(path: Path, *, fps: float = 25.0, frames: int = 4) -> Path:
    """A tiny video (MJPG in AVI, mp4v in MP4) that FFmpeg reads back."""
    path.parent.mkdir(parents=True, exist_ok=True)
    codec = "MJPG" if path.suffix == ".avi" else "mp4v"
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, (32, 32))
    for i in range(frames):
        out.write(np.full((32, 32, 3), 40 * i, np.uint8))
    out.release()
    assert path.stat().st_size > 0
    return path


def _by_name(root: Path, layout: str = "auto") -> dict[str, tuple[TruthSpan, ...]]:
    data = read_dataset(root, layout)
    return {c.name: c.events for c in data.clips}


def test_truth_json_reads_both_type_keys_and_skips_unlabelled_videos(tmp_path: Path) -> None:
    _video(tmp_path / "a.mp4")
    (tmp_path / "a.truth.json").write_text(
        json.dumps({"events": [{"event_type": "fall", "start_s": 2, "end_s": 5}]})
    )
    _video(tmp_path / "sub" / "b.mp4")
    (tmp_path / "sub" / "b.truth.json").write_text(
        json.dumps(
            {"events": [{"type": "fire", "start_s": 1.5, "end_s": None}], "labelled": ["fire"]}
        )
    )
    _video(tmp_path / "c.mp4")
    data = read_dataset(tmp_path)
    assert data.layout == "truth-json"
    got = {c.name: (c.events, c.labelled) for c in data.clips}
    assert got == {
        "a.mp4": ((TruthSpan("fall", 2.0, 5.0),), frozenset()),
        "sub/b.mp4": ((TruthSpan("fire", 1.5, None),), frozenset({"fire"})),
    }
    assert any("c.mp4" in s for s in data.skipped)


def test_class_folders_give_clip_level_events_and_negatives(tmp_path: Path) -> None:
    _video(tmp_path / "Falls" / "x.mp4")
    _video(tmp_path / "Normal" / "y.mp4")
    _video(tmp_path / "ADL" / "z.avi")
    _video(tmp_path / "unknown" / "w.mp4")
    data = read_dataset(tmp_path)
    assert data.layout == "class-folders"
    assert {c.name: c.events for c in data.clips} == {
        "Falls/x.mp4": (TruthSpan("fall"),),
        "Normal/y.mp4": (),
        "ADL/z.avi": (),
    }
    assert all(c.labelled == {"fall"} for c in data.clips)
    assert any("unknown" in s for s in data.skipped)


def test_urfall_spans_from_the_label_csv_at_the_videos_frame_rate(tmp_path: Path) -> None:
    for name in ("fall-01-cam0.mp4", "fall-01-cam1.mp4", "fall-02-cam0.mp4", "adl-01-cam0.mp4"):
        _video(tmp_path / "videos" / name, fps=30.0)
    rows = [f"fall-01,{f},{-1 if f <= 30 else (0 if f <= 40 else 1)},0.5,1.2" for f in range(1, 61)]
    rows += [f"fall-01,{f},-1,0.5,1.2" for f in range(61, 91)]
    (tmp_path / "urfall-cam0-falls.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "urfall-cam0-adls.csv").write_text("adl-01,1,-1\nadl-01,2,1\n")
    data = read_dataset(tmp_path)
    assert data.layout == "urfall"
    assert {c.name: c.events for c in data.clips} == {
        "videos/fall-01-cam0.mp4": (TruthSpan("fall", 1.0, 2.0),),  # frames 31..60 at 30 fps
        "videos/fall-02-cam0.mp4": (TruthSpan("fall"),),  # no labels: clip-level
        "videos/adl-01-cam0.mp4": (),  # camera 1 is left out
    }


def test_le2i_reads_the_first_two_lines_and_skips_unannotated_scenes(tmp_path: Path) -> None:
    scene = tmp_path / "Home_01" / "Home_01"
    _video(scene / "Videos" / "video (1).avi")
    _video(scene / "Videos" / "video (2).avi")
    (scene / "Annotation_files").mkdir()
    boxes = "\n".join(f"{f},1,10,10,20,20" for f in range(1, 5))
    (scene / "Annotation_files" / "video (1).txt").write_text(f"26\n50\n{boxes}\n")
    (scene / "Annotation_files" / "video (2).txt").write_text(f"0\n0\n{boxes}\n")
    _video(tmp_path / "Lecture_room" / "video (3).avi")
    data = read_dataset(tmp_path)
    assert data.layout == "le2i"
    assert {c.name: c.events for c in data.clips} == {
        "Home_01/Home_01/Videos/video (1).avi": (TruthSpan("fall", 1.0, 2.0),),
        "Home_01/Home_01/Videos/video (2).avi": (),
    }
    assert any("video (3)" in s for s in data.skipped)


def test_caucafall_fall_frames_from_per_frame_labels(tmp_path: Path) -> None:
    subject = tmp_path / "Dataset CAUCAFall" / "CAUCAFall" / "Subject.1"
    fall, walk = subject / "Fall forward", subject / "Walk"
    _video(fall / "FallForwardS1.avi", fps=10.0)
    _video(walk / "WalkS1.avi", fps=10.0)
    for i in range(10):  # the fall class (0 here) only in fall folders: frames 5..9
        (fall / f"{i + 1:05d}.txt").write_text(f"{0 if i >= 5 else 1} 0.5 0.5 0.2 0.6\n")
        (walk / f"{i + 1:05d}.txt").write_text("1 0.5 0.5 0.2 0.6\n")
    (subject / "Hop").mkdir()  # no video: skipped
    data = read_dataset(tmp_path)
    assert data.layout == "caucafall"
    assert {c.name: c.events for c in data.clips} == {
        "Dataset CAUCAFall/CAUCAFall/Subject.1/Fall forward/FallForwardS1.avi": (
            TruthSpan("fall", 0.5, 1.0),
        ),
        "Dataset CAUCAFall/CAUCAFall/Subject.1/Walk/WalkS1.avi": (),
    }
    (fall / "classes.txt").write_text("nofall\nfall\n")  # says fall is 1: frames 0..4
    (event,) = _by_name(tmp_path)[
        "Dataset CAUCAFall/CAUCAFall/Subject.1/Fall forward/FallForwardS1.avi"
    ]
    assert event == TruthSpan("fall", 0.0, 0.5)


def test_mivia_numbers_and_firenet_folders(tmp_path: Path) -> None:
    mivia = tmp_path / "mivia"
    for n in (1, 14, 15, 31, 40):
        _video(mivia / f"fire{n}.avi")
    data = read_dataset(mivia)
    assert data.layout == "mivia"
    assert {c.name: bool(c.events) for c in data.clips} == {
        "fire1.avi": True, "fire14.avi": True, "fire15.avi": False, "fire31.avi": False
    }  # fmt: skip
    assert all(c.labelled == {"fire"} for c in data.clips)
    firenet = tmp_path / "firenet"
    _video(firenet / "Fire" / "a.mp4")
    _video(firenet / "Non-Fire" / "b.mp4")
    assert _by_name(firenet) == {"Fire/a.mp4": (TruthSpan("fire"),), "Non-Fire/b.mp4": ()}
    _video(firenet / "Smoke" / "c.mp4")  # not FireNet's: the class-folders layout takes it
    assert read_dataset(firenet).layout == "class-folders"


def test_a_forced_layout_and_an_unknown_one(tmp_path: Path) -> None:
    _video(tmp_path / "fire" / "a.mp4")
    assert read_dataset(tmp_path, "urfall").clips == []
    assert read_dataset(tmp_path, "class-folders").clips[0].events == (TruthSpan("fire"),)
    with pytest.raises(ValueError, match="unknown layout"):
        read_dataset(tmp_path, "nope")
    assert read_dataset(tmp_path / "fire", "auto").layout == "none"
