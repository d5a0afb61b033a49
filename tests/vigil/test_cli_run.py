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


def test_paths_in_a_config_are_relative_to_the_config_file(tmp_path: Path) -> None:
    from vigil.config import load_config

    conf = tmp_path / "site" / "configs"
    conf.mkdir(parents=True)
    (conf / "vigil.yaml").write_text(
        'storage:\n  database_url: "sqlite:///../data/vigil.db"\n  media_dir: ../data/media\n'
        "cameras:\n  - {id: cam, url: ../clips/dock.mp4}\n"
        "model:\n  clip: {visual: openai/clip-vit-base-patch32}\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cfg = load_config(conf / "vigil.yaml")
    site = conf.parent.resolve()
    assert cfg.storage.sqlite_path() == conf.resolve() / ".." / "data" / "vigil.db"
    assert Path(cfg.storage.media_dir).resolve() == site / "data" / "media"
    assert Path(cfg.cameras[0].url).resolve() == site / "clips" / "dock.mp4"
    assert cfg.storage.journal_path().resolve() == site / "data" / "journal"
    assert Path(cfg.model.clip.cache_dir).resolve() == conf.resolve() / "data" / "engines"
    assert cfg.model.clip.visual == "openai/clip-vit-base-patch32"  # a hub id stays one


def test_a_missing_local_model_folder_is_not_taken_for_a_hub_id(tmp_path: Path) -> None:
    from vigil.config import ConfigError, load_config

    (tmp_path / "vigil.yaml").write_text("model:\n  clip: {visual: ./models/clip}\n")
    with pytest.raises(ConfigError, match=r"vigil.yaml:2 model.clip.visual: local model folder"):
        load_config(tmp_path / "vigil.yaml")
    (tmp_path / "models" / "clip").mkdir(parents=True)
    cfg = load_config(tmp_path / "vigil.yaml")
    assert Path(cfg.model.clip.visual) == tmp_path.resolve() / "models" / "clip"


def test_read_only_commands_from_another_folder_never_create_a_database(tmp_path: Path) -> None:
    conf = tmp_path / "configs"
    conf.mkdir()
    (conf / "vigil.yaml").write_text('storage:\n  database_url: "sqlite:///../data/vigil.db"\n')
    sub = tmp_path / "somewhere" / "else"
    sub.mkdir(parents=True)
    proc = subprocess.run(
        [sys.executable, "-m", "vigil", "incidents", "list", "-c", "../../configs/vigil.yaml"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=sub,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"no database at {(tmp_path / 'data' / 'vigil.db').resolve()}" in proc.stderr
    assert not (tmp_path / "data").exists() and not (sub / "data").exists()
