"""`vigil run` exit status and what it says when cameras fail."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from streamer.state import CameraState, StateMachine
from tests.support.cli import run_vigil, write_config


def test_run_where_every_camera_failed_exits_1_with_the_reasons(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path / "vigil.yaml",
        db=tmp_path / "db" / "vigil.db",
        media=tmp_path / "media",
        cameras=[
            {"id": "gone", "url": tmp_path / "missing.mp4"},
            {"id": "junk", "url": tmp_path / "junk.mp4"},
        ],
    )
    (tmp_path / "junk.mp4").write_bytes(b"not a video at all" * 100)
    proc = run_vigil("run", "-c", str(cfg), "--fast")
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
    proc = run_vigil("incidents", "list", "-c", "../../configs/vigil.yaml", cwd=sub)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"no database at {(tmp_path / 'data' / 'vigil.db').resolve()}" in proc.stderr
    assert not (tmp_path / "data").exists() and not (sub / "data").exists()


def test_version() -> None:
    from vigil import __version__

    proc = run_vigil("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"vigil {__version__}"


def test_sample_clip_refuses_a_missing_folder_and_a_clip_too_short(tmp_path: Path) -> None:
    proc = run_vigil("sample-clip", str(tmp_path / "missing" / "dir" / "x.mp4"))
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    assert not (tmp_path / "missing").exists()
    proc = run_vigil("sample-clip", str(tmp_path / "x.mp4"), "--duration", "10")
    assert proc.returncode == 2 and "at least 30 s" in proc.stderr
    assert not (tmp_path / "x.mp4").exists()


def test_a_generated_demo_clip_of_another_seed_is_made_again(tmp_path: Path) -> None:
    from vigil.cli import _needs_generating
    from vigil.scene import generate_scene

    clip = tmp_path / "demo.mp4"
    assert _needs_generating(clip, 0)
    generate_scene(clip, seed=0, scenario="walking", duration_s=10)
    assert not _needs_generating(clip, 0)
    assert _needs_generating(clip, 5)
    own = tmp_path / "mine.mp4"
    own.write_bytes(clip.read_bytes())  # a user's clip (no truth file): used as it is
    assert not _needs_generating(own, 5)


def test_config_check_lists_problems_in_order_with_suggestions(tmp_path: Path) -> None:
    cfg = tmp_path / "v.yaml"
    cfg.write_text(
        "sight: x\nstorage:\n  media_dri: m\ncameras:\n  - id: a\n    url: a.mp4\n"
        "    fsp: 2\n    events: {fall: {threshhold: 0.5}}\n"
    )
    proc = run_vigil("config", "check", "-c", str(cfg))
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"{cfg}:1 sight: unknown key (did you mean 'site'?)",
        f"{cfg}:3 storage.media_dri: unknown key (did you mean 'media_dir'?)",
        f"{cfg}:7 cameras[0].fsp: unknown key (did you mean 'fps'?)",
        f"{cfg}:8 cameras[0].events.fall.threshhold: unknown key (did you mean 'threshold'?)",
    ]


def test_config_check_lists_problems_of_every_kind_in_one_run(tmp_path: Path) -> None:
    cfg = tmp_path / "v.yaml"
    cfg.write_text(
        "sight: x\n"
        "cameras:\n"
        "  - id: a\n"
        "    url: a.mp4\n"
        "    events: {fall: {}, smoke: {}}\n"
        "    zones:\n"
        "      - {name: door, polygon: [[0, 0], [1, 0], [1, 1]], events: [fire]}\n"
        "  - id: a\n"
        "    url: b.mp4\n"
        "model: {profile: clip, clip: {zeroshot: {prompts: {fall: {positive: [a]},\n"
        "  fire: {positive: [b]}}}}}\n"
    )
    proc = run_vigil("config", "check", env={"VIGIL_CONFIG": str(cfg)})
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"{cfg}:1 sight: unknown key (did you mean 'site'?)",
        f"{cfg}:5 cameras[0].events.smoke: 'smoke' cannot be detected by the 'clip' profile "
        "(it detects: fall, fire)",
        f"{cfg}:7 cameras[0].zones[0].events[0]: 'fire' is not among the camera's events "
        "(fall, smoke)",
        f"{cfg}:8 cameras[1].id: camera id 'a' is used more than once (first by cameras[0])",
    ]


def test_vigil_config_is_the_default_config(tmp_path: Path) -> None:
    cfg = tmp_path / "v.yaml"
    cfg.write_text("cameras: []\n")
    proc = run_vigil("config", "check", env={"VIGIL_CONFIG": str(cfg)})
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stderr
    proc = run_vigil("incidents", "list", env={"VIGIL_CONFIG": str(cfg)}, cwd=tmp_path)
    assert proc.returncode == 1 and "no database at" in proc.stderr  # it read that config


def test_a_file_run_fast_is_timed_from_its_start_time_with_offsets(
    tmp_path: Path, scene_clip: Any
) -> None:
    import datetime as dt
    import json
    import sqlite3

    cfg = write_config(
        tmp_path / "v.yaml",
        db=tmp_path / "db" / "vigil.db",
        media=tmp_path / "media",
        cameras=[
            {
                "id": "cam",
                "url": scene_clip("demo", 0),
                "fps": 2,
                "start_time": "2026-11-30T14:05:00",
            }
        ],
        top={"timezone": "Europe/Berlin"},
    )
    start = dt.datetime(2026, 11, 30, 14, 5, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    proc = run_vigil("run", "--fast", "-c", str(cfg))
    assert proc.returncode == 0, proc.stderr
    listed = run_vigil("incidents", "list", "--json", "-c", str(cfg))
    rows = json.loads(listed.stdout)
    assert sorted(r["event_type"] for r in rows) == ["fall", "fire"]
    for r in rows:
        assert 0 < r["offset_s"] < 60
        # stamped from the recording time, not from when the fast run read the file
        assert r["opened_ts_s"] == pytest.approx(start.timestamp() + r["offset_s"], abs=1.0)
        assert r["opened_at"].startswith("2026-11-30T14:0")
        assert r["opened_at"].endswith("+01:00")
    with sqlite3.connect(tmp_path / "db" / "vigil.db") as db:
        payloads = [json.loads(p) for (p,) in db.execute("SELECT payload FROM outbox")]
    incident_msgs = [p for p in payloads if p["message_type"] == "incident"]
    assert incident_msgs and all("offset_s" in p for p in incident_msgs)


def test_engines_commands_on_a_cues_config_say_so_at_once(tmp_path: Path) -> None:
    cfg = tmp_path / "v.yaml"
    cfg.write_text("model: {profile: cues}\n")
    for args in (
        ("engines", "build", "-c", str(cfg)),
        ("engines", "export", "-c", str(cfg), "--out", str(tmp_path / "o")),
    ):
        proc = run_vigil(*args, env={"HF_HUB_OFFLINE": "1"})
        assert proc.returncode == 2, proc.stderr
        assert "model.profile is 'cues'" in proc.stderr
    assert not (tmp_path / "o").exists()


@pytest.fixture(scope="module")
def demo_history(tmp_path_factory: pytest.TempPathFactory, scene_clip: Any) -> Path:
    """A config whose database holds the demo's fall and fire."""
    d = tmp_path_factory.mktemp("history")
    cfg = write_config(
        d / "v.yaml",
        db=d / "db" / "vigil.db",
        media=d / "media",
        cameras=[{"id": "cam", "url": scene_clip("demo", 0), "fps": 2}],
    )
    proc = run_vigil("demo", "--no-serve", "-c", str(cfg))
    assert proc.returncode == 0, proc.stderr
    return cfg


def test_incidents_list_piped_is_whole_and_filters_are_checked(demo_history: Path) -> None:
    proc = run_vigil(
        "incidents", "list", "-c", str(demo_history), "--type", "FALL", "--since", "1d"
    )
    assert proc.returncode == 0, proc.stderr
    header, *rows = proc.stdout.splitlines()
    assert header.split("\t")[:3] == ["id", "type", "severity"]
    (row,) = rows
    fields = row.split("\t")
    assert len(fields[0]) == 32 and fields[1] == "fall" and fields[2] == "high"
    assert "T" in fields[5] and fields[5].endswith("+00:00")  # a whole ISO time with its zone
    proc = run_vigil("incidents", "list", "-c", str(demo_history), "--since", "1d", "--until", "2h")
    assert proc.returncode == 0 and proc.stdout.count("\n") == 1  # header only: all are newer
    for bad in (("--type", "explosion"), ("--status", "gone"), ("--since", "yesterday-ish")):
        proc = run_vigil("incidents", "list", "-c", str(demo_history), *bad)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("bad_id", ["", "x" * 100_000, "../../etc", "a b"])
def test_incidents_show_bad_ids_are_one_line_errors(demo_history: Path, bad_id: str) -> None:
    proc = run_vigil("incidents", "show", bad_id, "-c", str(demo_history))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert len(proc.stderr) < 300  # never an echo of a huge input


def test_incidents_show_json_has_media_actions_and_fallbacks(demo_history: Path) -> None:
    import json

    listed = json.loads(run_vigil("incidents", "list", "--json", "-c", str(demo_history)).stdout)
    proc = run_vigil(
        "incidents", "show", listed[0]["incident_id"], "--json", "-c", str(demo_history)
    )
    data = json.loads(proc.stdout)
    kinds = {m["kind"].split(":")[0] for m in data["media"]}
    assert kinds == {"keyframe", "clip"}
    assert all(Path(m["path"]).is_absolute() and Path(m["path"]).exists() for m in data["media"])
    rep = data["reports"][-1]
    assert rep["action"] and rep["fallback_used"] in (True, False) and "fallback_reason" in rep
