"""End to end: ``vigil eval`` on a generated demo clip and a generated walking clip."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import cv2

from tests.support.cli import run_vigil
from vigil.scene import truth_path


def _labelled_set(folder: Path, scene_clip: Callable[..., Path]) -> Path:
    folder.mkdir()
    for clip in (scene_clip("demo", 0, 60.0), scene_clip("walking", 1, 10.0)):
        shutil.copy(clip, folder / clip.name)
        shutil.copy(truth_path(clip), truth_path(folder / clip.name))
    return folder


def _figures(line: str) -> dict[str, str]:
    pairs = [part.split("=", 1) for part in line.split()]
    assert all(len(p) == 2 for p in pairs), line
    return dict((k, v) for k, v in pairs)


def test_eval_finds_the_demo_events_and_no_false_alarm_on_walking(
    tmp_path: Path, scene_clip: Callable[..., Path]
) -> None:
    folder = _labelled_set(tmp_path / "set", scene_clip)
    out = tmp_path / "out"
    proc = run_vigil("eval", str(folder), "--json", "--jobs", "2", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(proc.stdout)
    assert doc["layout"] == "truth-json" and doc["profile"] == "cues" and doc["jobs"] == 2
    assert doc["match_window_s"] == [-1.0, 3.0]
    for event_type in ("fall", "fire"):
        metrics = doc["event_types"][event_type]
        assert metrics["recall"] == 1.0 and metrics["precision"] == 1.0, metrics
        assert metrics["events"] == 1 and metrics["negative_clips"] == 1
        assert metrics["false_alarms"] == 0 and metrics["false_alarms_per_hour"] == 0.0
        assert -1.0 <= metrics["latency_p50_s"] <= 3.0
        assert 0.5 < metrics["coverage"] <= 1.0
    clips = {c["name"]: c for c in doc["clips"]}
    demo, walking = clips["demo-0-60.mp4"], clips["walking-1-10.mp4"]
    assert sorted(i["type"] for i in demo["incidents"]) == ["fall", "fire"]
    assert all(i["matched"] for i in demo["incidents"]) and demo["missed"] == []
    assert walking["negative"] and walking["incidents"] == [] and walking["error"] is None
    assert demo["frames"] >= 110 and walking["duration_s"] == 10.0
    last = _figures(proc.stderr.strip().splitlines()[-1])
    assert last["fall_recall"] == last["fire_recall"] == "1.000"
    assert last["clips"] == "2" and last["errors"] == "0"
    assert last["fall_false_alarms_per_hour"] == "0.00"

    report = out / "report.md"
    assert report.stat().st_size > 0 and "| fall |" in report.read_text()
    assert json.loads((out / "report.json").read_text())["event_types"] == doc["event_types"]
    for c in doc["clips"]:
        svg = out / c["plot"]
        assert svg.stat().st_size > 0 and svg.read_text().startswith("<svg")
        assert f"]({c['plot']})" in report.read_text()
        png = cv2.imread(str(svg.with_suffix(".png")))
        assert png is not None and png.shape[1] == 900 and png.std() > 5


def test_eval_prints_the_table_and_ends_with_the_key_value_line(
    tmp_path: Path, scene_clip: Callable[..., Path]
) -> None:
    folder = _labelled_set(tmp_path / "set", scene_clip)
    proc = run_vigil("eval", str(folder), "--jobs", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert lines[0].split()[:3] == ["event", "events", "matched"]
    assert any(line.startswith("walking-1-10.mp4 (10 s, negative): incidents []") for line in lines)
    figures = _figures(lines[-1])
    assert figures["fire_precision"] == "1.000" and figures["negative_clips"] == "1"
    empty = run_vigil("eval", str(tmp_path / "out-none"), "--jobs", "1")
    assert empty.returncode == 2  # no such folder
