"""`vigil demo` resets only its own data; `config check` and `run` refuse an unsafe media_dir."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from storage.settings import StorageConfig
from storage.store import Store
from tests.support.cli import run_vigil, write_config

OWN_KEYFRAME = "2026-11-30/inc-1/keyframe-onset-1764500000000.jpg"


def _incident_count(stdout: str) -> int:
    found = re.search(r"^(\d+) incident\(s\)$", stdout, re.MULTILINE)
    assert found, stdout
    return int(found[1])


def _user_config(tmp_path: Path, clip: Path) -> Path:
    return write_config(
        tmp_path / "vigil.yaml",
        db=tmp_path / "db" / "vigil.db",
        media=tmp_path / "media",
        cameras=[{"id": "cam", "url": clip, "fps": 2}],
    )


def _user_data(tmp_path: Path) -> StorageConfig:
    """An operator's existing history: a database with a camera and a Vigil keyframe."""
    cfg = StorageConfig(
        database_url=f"sqlite:///{tmp_path / 'db' / 'vigil.db'}", media_dir=str(tmp_path / "media")
    )
    store = Store.open(cfg)
    store.upsert_camera(camera_id="cam", name="Dock", location="dock", url_masked="rtsp://h/s")
    store.close()
    kf = tmp_path / "media" / OWN_KEYFRAME
    kf.parent.mkdir(parents=True)
    kf.write_bytes(b"jpeg")
    return cfg


def test_demo_refuses_a_users_data_and_deletes_nothing(
    tmp_path: Path, scene_clip: Callable[..., Path]
) -> None:
    config = _user_config(tmp_path, scene_clip("demo", 0))
    _user_data(tmp_path)
    proc = run_vigil("demo", "--no-serve", "-c", str(config), cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "the demo did not create" in proc.stderr and "--reset" in proc.stderr
    assert (tmp_path / "db" / "vigil.db").exists()
    assert (tmp_path / "media" / OWN_KEYFRAME).read_bytes() == b"jpeg"


def test_demo_refuses_a_media_dir_with_an_operators_file_even_with_reset(
    tmp_path: Path, scene_clip: Callable[..., Path]
) -> None:
    config = _user_config(tmp_path, scene_clip("demo", 0))
    _user_data(tmp_path)
    note = tmp_path / "media" / "README-operator.txt"
    note.write_text("do not delete")
    proc = run_vigil("demo", "--no-serve", "-c", str(config), "--reset", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"{config}:3 storage.media_dir:" in proc.stderr
    assert "README-operator.txt" in proc.stderr
    assert note.read_text() == "do not delete"
    assert (tmp_path / "db" / "vigil.db").exists()
    assert (tmp_path / "media" / OWN_KEYFRAME).exists()


def test_demo_reset_then_resets_its_own_data_without_asking(
    tmp_path: Path, scene_clip: Callable[..., Path]
) -> None:
    config = _user_config(tmp_path, scene_clip("demo", 0))
    _user_data(tmp_path)
    proc = run_vigil("demo", "--no-serve", "-c", str(config), "--reset", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (tmp_path / "media" / OWN_KEYFRAME).exists()
    first = _incident_count(proc.stdout)
    assert first >= 1
    # The data is now the demo's own: the next run resets it without --reset ...
    proc = run_vigil("demo", "--no-serve", "-c", str(config), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # ... and starts from an empty database (same clip, same incidents, not twice as many).
    assert _incident_count(proc.stdout) == first


def test_config_check_and_run_refuse_media_dir_holding_the_database(tmp_path: Path) -> None:
    config = tmp_path / "vigil.yaml"
    config.write_text(
        'storage:\n  database_url: "sqlite:///data/vigil.db"\n  media_dir: data\n'
        "cameras:\n  - {id: cam, url: x.mp4}\n"
    )
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "vigil.db").write_bytes(b"history")
    for args in (("config", "check", str(config)), ("run", "-c", str(config))):
        proc = run_vigil(*args, cwd=tmp_path)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert f"{config}:3 storage.media_dir: " in proc.stderr
        assert "holds the database file" in proc.stderr
    assert (tmp_path / "data" / "vigil.db").read_bytes() == b"history"
    config.write_text('storage:\n  media_dir: ""\n')
    proc = run_vigil("config", "check", str(config), cwd=tmp_path)
    assert proc.returncode == 2
    assert "storage.media_dir: is empty" in proc.stderr
