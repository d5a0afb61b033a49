"""`vigil run` exit status and what it says when cameras fail."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from streamer.state import CameraState, StateMachine


def test_run_where_every_camera_failed_exits_1_with_the_reasons(tmp_path: Path) -> None:
    cfg = tmp_path / "vigil.yaml"
    cfg.write_text(
        f"""storage:
  database_url: "sqlite:///{tmp_path / "db" / "vigil.db"}"
  media_dir: {tmp_path / "media"}
cameras:
  - {{id: gone, url: "{tmp_path / "missing.mp4"}"}}
  - {{id: junk, url: "{tmp_path / "junk.mp4"}"}}
"""
    )
    (tmp_path / "junk.mp4").write_bytes(b"not a video at all" * 100)
    proc = subprocess.run(
        [sys.executable, "-m", "vigil", "run", "-c", str(cfg), "--fast"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "camera gone failed: not found" in proc.stderr
    assert "camera junk failed:" in proc.stderr
    assert "every camera failed" in proc.stderr
    assert "WARNING" in proc.stderr  # the failures are logged as warnings, not info


def test_losing_a_camera_is_a_warning_and_coming_back_is_info(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="streamer")
    machine = StateMachine("cam")
    machine.to(CameraState.ONLINE, "first frame")
    machine.to(CameraState.OFFLINE, "connection refused")
    machine.to(CameraState.STARTING, "reconnect")
    machine.to(CameraState.FAILED, "not found")
    levels = {r.getMessage().split("(")[0].strip(): r.levelname for r in caplog.records}
    assert levels["camera cam: online -> offline"] == "WARNING"
    assert levels["camera cam: starting -> failed"] == "WARNING"
    assert levels["camera cam: starting -> online"] == "INFO"
