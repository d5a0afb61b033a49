"""End to end: `vigil run --fast` on generated scenes finds exactly their ground truth."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from storage.store import Store
from tests.support.cli import run_vigil, vigil_command, vigil_env, write_config
from vigil.config import load_config
from vigil.scene import load_truth

OPEN_LINE = re.compile(r"^OPEN\s+(\w+)\s+camera=(\S+) .*stream_t=([\d.]+)s", re.M)


def _config(path: Path, cameras: list[dict[str, object]], db: Path) -> Path:
    top = {"site": "test-site", "timezone": "Europe/Berlin"}
    return write_config(path, db=db, media=db.parent / "media", cameras=cameras, top=top)


@pytest.mark.parametrize(("scenario", "seed"), [("demo", 0), ("demo", 7), ("walking", 1)])
def test_run_fast_finds_exactly_the_ground_truth(
    tmp_path: Path, scene_clip: Callable[..., Path], scenario: str, seed: int
) -> None:
    clip = scene_clip(scenario, seed)
    truth = load_truth(clip)
    db = tmp_path / "vigil.db"
    camera = {"id": "cam-1", "url": clip, "fps": 2, "events": {"fall": {}, "fire": {}}}
    cfg = _config(tmp_path / "vigil.yaml", [camera], db)
    proc = run_vigil("run", "-c", str(cfg), "--fast")
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = [(m[1], float(m[3])) for m in OPEN_LINE.finditer(proc.stdout)]
    expected = [(e.event_type, e.start_s) for e in truth.events]
    assert sorted(t for t, _ in found) == sorted(t for t, _ in expected), proc.stdout
    for event_type, start_s in expected:
        (got,) = [s for t, s in found if t == event_type]
        assert abs(got - start_s) <= 2.0, f"{event_type} at {got}s, truth {start_s}s"

    # stored: closed incidents with template reports and media
    store = Store.open(load_config(cfg).storage, create_if_empty=False)
    try:
        rows = store.list_incidents(limit=100)
        assert sorted(r.event_type for r in rows) == sorted(t for t, _ in expected)
        for r in rows:
            assert not r.is_open
            detail = store.get_incident(r.incident_id)
            assert detail is not None and detail.latest_report is not None
            assert detail.latest_report.backend == "template"
            assert r.event_type in detail.latest_report.summary.lower()
            assert "Europe/Berlin" not in detail.latest_report.summary  # offset, not a name
            assert re.search(
                r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", detail.latest_report.summary
            )
            assert {m.kind.split(":")[0] for m in detail.media} >= {"keyframe", "clip"}
            # the onset frame, clean and annotated (box, label, score, camera, local time)
            kinds = {m.kind: m for m in detail.media}
            assert {"keyframe:onset", "keyframe:annotated"} <= set(kinds)
            media_dir = db.parent / "media"
            clean = cv2.imread(str(media_dir / kinds["keyframe:onset"].path))
            marked = cv2.imread(str(media_dir / kinds["keyframe:annotated"].path))
            assert clean is not None and marked is not None and clean.shape == marked.shape
            changed = np.abs(clean.astype(int) - marked.astype(int)).max(axis=2) > 60
            assert changed[: clean.shape[0] // 8].mean() > 0.02  # the banner at the top
            assert changed[clean.shape[0] // 8 :].any()  # the box around what scored
            # the clip: the camera's own 25 fps, seconds before the onset included
            with av.open(str(media_dir / kinds["clip"].path)) as clip:
                vs = clip.streams.video[0]
                assert vs.average_rate == 25 and vs.codec_context.name == "h264"
                shown = sum(1 for _ in clip.decode(vs))
            assert shown >= 25 * 6  # 4 s before + 4 s after at 25 fps (less at a stream end)
            assert kinds["clip"].ts_s <= kinds["keyframe:onset"].ts_s - 3.9
    finally:
        store.close()

    if expected:
        listed = run_vigil("incidents", "list", "-c", str(cfg), "--json")
        assert listed.returncode == 0, listed.stderr
        assert '"event_type"' in listed.stdout
        first_id = rows[0].incident_id
        shown = run_vigil("incidents", "show", first_id[:8], "-c", str(cfg))
        assert shown.returncode == 0, shown.stderr
        assert first_id in shown.stdout and "timeline:" in shown.stdout


def test_bad_cameras_do_not_stop_good_ones_and_sigterm_stops_cleanly(
    tmp_path: Path, scene_clip: Callable[..., Path]
) -> None:
    clip = scene_clip("demo", 0)
    db = tmp_path / "vigil.db"
    cameras: list[dict[str, object]] = [
        {"id": "good", "url": clip, "fps": 2},
        {"id": "missing", "url": tmp_path / "nope.mp4"},
        {"id": "unreachable", "url": "rtsp://admin:hunter2@127.0.0.1:9/stream"},
    ]
    cfg = _config(tmp_path / "vigil.yaml", cameras, db)
    proc = subprocess.Popen(
        vigil_command("run", "-c", str(cfg), "--fast"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=vigil_env({"PYTHONUNBUFFERED": "1"}),
    )
    lines: list[str] = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    try:
        # the good camera plays to its end and closes its incidents while the others fail
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            text = "".join(lines)
            if text.count("CLOSE ") >= 2 and "unreachable" in text and "missing" in text:
                break
        # the good camera's incidents closed when its file ended, while the others still retry
        before_term = "".join(lines)
        assert before_term.count("reason=stream_ended") >= 2, before_term[-3000:]
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = "".join(lines) + rest
    assert proc.returncode == 0, text[-3000:]
    assert "hunter2" not in text
    assert re.search(r"unreachable.*rtsp://admin:\*\*\*@127\.0\.0\.1:9/stream", text), text[-3000:]
    assert re.search(r"missing.*nope\.mp4", text)
    assert "OPEN  fall" in text and "OPEN  fire" in text
    assert "vigil stopped" in text
