"""Terminal feedback: the run status line and progress bars show on a terminal only."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

from streamer.state import CameraState
from tests.support.cli import REPO, run_vigil, vigil_command, vigil_env, write_config
from vigil.cli_status import status_line


def _status(state: CameraState, fps: float) -> SimpleNamespace:
    return SimpleNamespace(state=state, sampled_fps=fps)


def test_status_line_counts_cameras_rate_and_incidents() -> None:
    app = SimpleNamespace(
        camera_statuses=lambda: {
            "a": _status(CameraState.ONLINE, 2.0),
            "b": _status(CameraState.ONLINE, 1.9),
            "c": _status(CameraState.OFFLINE, 0.0),
        },
        stats=SimpleNamespace(opened=5, closed=3, frames=1234),
    )
    line = status_line(app)
    assert line.startswith("cameras 2/3 online · 3.9 fps · incidents 2 open, 5 opened")
    assert "1234 frames" in line and line.endswith("down: c")


def _run_on_terminal(args: list[str], timeout: float = 240) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pseudo-terminal; returns (rc, stdout, terminal text)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        vigil_command(*args),
        stdout=subprocess.PIPE,
        stderr=slave,
        cwd=REPO,
        env=vigil_env({"COLUMNS": "160", "TERM": "xterm"}),
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    out = proc.stdout.read().decode() if proc.stdout else ""
    rc = proc.wait(timeout=30)
    os.close(master)
    return rc, out, b"".join(chunks).decode(errors="replace")


def test_sample_clip_shows_a_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    rc, out, term = _run_on_terminal(["sample-clip", str(tmp_path / "a.mp4"), "--duration", "35"])
    assert rc == 0 and "wrote" in out
    assert "writing a.mp4" in term and "%" in term
    piped = run_vigil(
        "sample-clip", str(tmp_path / "b.mp4"), "--duration", "35", cwd=REPO, timeout=240
    )
    assert piped.returncode == 0 and "writing b.mp4" not in piped.stderr


def test_run_shows_a_live_status_line_on_a_terminal(tmp_path: Path) -> None:
    clip = tmp_path / "s.mp4"
    run_vigil(
        "sample-clip", str(clip), "--duration", "35", cwd=REPO, timeout=240
    ).check_returncode()
    cfg = write_config(
        tmp_path / "v.yaml",
        db=tmp_path / "v.db",
        media=tmp_path / "media",
        cameras=[{"id": "cam-1", "url": clip, "fps": 2}],
    )
    rc, out, term = _run_on_terminal(["run", "-c", str(cfg), "--fast"], timeout=120)
    assert rc == 0, term[-2000:]
    assert "/1 online · " in term and "fps · incidents" in term and " frames" in term
    assert "OPEN " in out  # incident lines still reach stdout whole
