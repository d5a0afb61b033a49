"""Config loading: line-numbered errors, env substitution, masking, CLI exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from streamer.masking import mask_url
from vigil.config import ConfigError, load_config, parse_config

REPO = Path(__file__).resolve().parents[2]

GOOD = """\
site: dock
timezone: Europe/Berlin
cameras:
  - id: dock-1
    url: "rtsp://viewer:${DOCK_PW}@10.0.0.5/stream1"
    fps: 2
    events: {fall: {threshold: 0.8, min_duration_s: 1, cooldown_s: 60}, fire: {}}
    zones:
      - name: restricted
        polygon: [[0.1, 0.1], [0.5, 0.1], [0.5, 0.9]]
        events: [fall]
"""


def test_good_config_loads_with_env_secret() -> None:
    cfg = parse_config(GOOD, env={"DOCK_PW": "s3cret"})
    cam = cfg.cameras[0]
    assert cam.url == "rtsp://viewer:s3cret@10.0.0.5/stream1"
    assert "s3cret" not in cam.masked_url
    assert cam.masked_url == "rtsp://viewer:***@10.0.0.5/stream1"
    rule = cam.events["fall"].resolved("fall")
    assert (rule.threshold, rule.min_duration_s, rule.cooldown_s) == (0.8, 1, 60)
    assert cam.events["fire"].resolved("fire").threshold == 0.6
    assert str(cfg.tz) == "Europe/Berlin"


def test_env_default_and_missing_variable_names_line() -> None:
    cfg = parse_config("site: ${SITE:-fallback}\ncameras: []\n", env={})
    assert cfg.site == "fallback"
    with pytest.raises(ConfigError) as exc:
        parse_config(GOOD, source="c.yaml", env={})
    (issue,) = exc.value.issues
    assert str(issue) == "c.yaml:5 cameras[0].url: environment variable DOCK_PW is not set"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sight: x\n", "cfg.yaml:1 sight: unknown key"),
        ("cameras:\n  - id: a\n    url: x.mp4\n    fps: 9\n", "cfg.yaml:4 cameras[0].fps:"),
        (
            "cameras:\n  - id: a\n    url: x.mp4\n    events: {fall: {threshold: 1.5}}\n",
            "cfg.yaml:4 cameras[0].events.fall.threshold:",
        ),
        ("cameras:\n  - id: a\n", "cfg.yaml:2 cameras[0].url: required key is missing"),
        ("timezone: Mars/Olympus\n", "cfg.yaml:1 timezone: unknown time zone"),
        (
            "cameras:\n  - id: a\n    url: x.mp4\n    events: {explosion: {}}\n",
            "cfg.yaml:4 cameras[0].events: unknown event type(s) explosion",
        ),
        ("site: a\nsite: b\n", "cfg.yaml:2 invalid YAML: duplicate key 'site'"),
        ("site: [unclosed\n", "cfg.yaml:2 invalid YAML"),
        ("- just\n- a list\n", "cfg.yaml:1 the top level must be a mapping"),
    ],
)
def test_errors_name_line_and_key(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(text, source="cfg.yaml", env={})
    assert any(str(i).startswith(expected) for i in exc.value.issues), exc.value.issues


def test_every_error_is_listed() -> None:
    text = "sight: x\ncameras:\n  - id: a\n    url: x.mp4\n    fps: 0\n  - id: a\n    url: y\n"
    with pytest.raises(ConfigError) as exc:
        parse_config(text, source="f.yaml", env={})
    lines = [str(i) for i in exc.value.issues]
    assert any(line.startswith("f.yaml:1 sight: unknown key") for line in lines)
    assert any(line.startswith("f.yaml:5 cameras[0].fps") for line in lines)
    assert len(lines) >= 2


def test_duplicate_camera_ids_rejected() -> None:
    with pytest.raises(ConfigError, match="used more than once"):
        parse_config("cameras:\n  - {id: a, url: x}\n  - {id: a, url: y}\n", env={})


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("rtsp://u:pw@h/s", "rtsp://u:***@h/s"),
        ("rtsp://h:554/s", "rtsp://h:554/s"),
        (
            "postgresql+psycopg://vigil:pa%40ss@db:5432/v",
            "postgresql+psycopg://vigil:***@db:5432/v",
        ),
        ("http://h/x?token=abc&y=1", "http://h/x?token=***&y=1"),
        ("camera at rtsp://a:b@c/d failed", "camera at rtsp://a:***@c/d failed"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_shipped_configs_are_valid() -> None:
    for name in ("default.yaml", "demo.yaml"):
        load_config(REPO / "configs" / name, env={})


def test_config_check_cli_exits_2_and_lists_every_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("cameras:\n  - id: cam\n    url: rtsp://u:hunter2@h/s\n    fps: 7\nfoo: 1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "vigil", "config", "check", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert f"{bad}:4 cameras[0].fps:" in proc.stderr
    assert f"{bad}:5 foo: unknown key" in proc.stderr
    assert "hunter2" not in proc.stderr + proc.stdout
    good = tmp_path / "good.yaml"
    good.write_text("cameras:\n  - id: cam\n    url: rtsp://u:hunter2@h/s\n")
    proc = subprocess.run(
        [sys.executable, "-m", "vigil", "config", "check", str(good)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "OK" in proc.stdout


def test_default_yaml_documents_every_option_and_is_current() -> None:
    from vigil.config_doc import render_default_config

    shipped = (REPO / "configs" / "default.yaml").read_text(encoding="utf-8")
    assert shipped == render_default_config(), (
        "configs/default.yaml is out of date: run `vigil config default > configs/default.yaml`"
    )
    # the file is valid as it stands, and so is its commented camera example
    cfg = parse_config(shipped, env={})
    assert cfg.cameras == []
    lines = shipped.splitlines()
    start = lines.index("# cameras:")
    block = []
    for line in lines[start:]:
        if not line.startswith("# "):
            break
        block.append(line[2:])
    cams = parse_config("\n".join(block), env={"DOCK1_PASSWORD": "x"}).cameras
    assert cams[0].id == "dock-1" and cams[0].zones[0].name == "restricted"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("rtsp://admin:p@ss@10.0.0.5/s", "rtsp://admin:***@10.0.0.5/s"),
        (
            "open rtsp://admin:p@ss@10.0.0.5/s failed: 401",
            "open rtsp://admin:***@10.0.0.5/s failed: 401",
        ),
        ("http://h/live.m3u8?pass=abc", "http://h/live.m3u8?pass=***"),
        (
            "two: rtsp://a:x@h1/s and rtsp://b:y@h2/t",
            "two: rtsp://a:***@h1/s and rtsp://b:***@h2/t",
        ),
        ("rtsp://viewer@h/s", "rtsp://viewer@h/s"),
    ],
)
def test_mask_url_passwords_with_at_signs_and_query_secrets(text: str, masked: str) -> None:
    assert mask_url(text) == masked


@pytest.mark.parametrize("json_lines", [False, True])
def test_log_lines_and_tracebacks_are_masked(json_lines: bool) -> None:
    import io
    import logging

    from vigil.logs import build_handler

    stream = io.StringIO()
    log = logging.getLogger(f"vigil.test.mask.{json_lines}")
    log.propagate = False
    log.addHandler(build_handler(stream, json_lines=json_lines))
    log.warning("camera %s at %s", "dock", "rtsp://u:hunter2@h/s")
    try:
        raise RuntimeError("cannot open rtsp://u:hunter2@h/s")
    except RuntimeError:
        log.exception("reader failed")
    out = stream.getvalue()
    assert "hunter2" not in out
    # the message, the traceback's source line and the exception's text
    assert out.count("rtsp://u:***@h/s") == 3


def _laughs(levels: int = 7) -> str:
    lines = ['l0: &l0 ["ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha"]']
    for i in range(1, levels):
        refs = ", ".join([f"*l{i - 1}"] * 9)
        lines.append(f"l{i}: &l{i} [{refs}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (_laughs(), "cfg.yaml:6 invalid YAML: aliases expand to more than"),
        ("site: " + "[" * 5000 + "]" * 5000 + "\n", "cfg.yaml:1 invalid YAML: nested more than"),
        ("[1, 2]: x\n", "cfg.yaml:1 invalid YAML: a key must be a plain value"),
        ("{a: 1}: x\n", "cfg.yaml:1 invalid YAML: a key must be a plain value"),
    ],
)
def test_hostile_yaml_is_a_one_line_error(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(text, source="cfg.yaml", env={})
    (issue,) = exc.value.issues
    assert str(issue).startswith(expected), str(issue)
    assert "\n" not in str(issue)


def test_merge_keys_and_x_anchors_are_supported() -> None:
    cfg = parse_config(
        """\
x-camera: &cam
  fps: 3
  events: {fall: {}}
cameras:
  - <<: *cam
    id: a
    url: a.mp4
  - <<: *cam
    id: b
    url: b.mp4
    fps: 5
""",
        env={},
    )
    assert [(c.id, c.fps, sorted(c.events)) for c in cfg.cameras] == [
        ("a", 3, ["fall"]),
        ("b", 5, ["fall"]),
    ]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ftp://u:hunter22@h/x", "unsupported URL scheme 'ftp'"),
        ("rtsp://u:hunter22@h/x\n", "control character"),
        ("rtsp://u:hunter22@h/\x1b[31mred", "control character"),
    ],
)
def test_camera_urls_with_bad_schemes_or_control_characters_are_refused(
    url: str, expected: str
) -> None:
    import json

    with pytest.raises(ConfigError) as exc:
        parse_config(f"cameras:\n  - id: a\n    url: {json.dumps(url)}\n", env={})
    text = str(exc.value)
    assert expected in text and "hunter22" not in text


MANY_PROBLEMS = """\
site: dock
sight: typo
model:
  {profile: clip, clip: {zeroshot: {prompts: {fall: {positive: [a]}, fire: {positive: [b]}}}}}
cameras:
  - id: a
    url: a.mp4
    fps: 9
    events:
      fall: {}
      smoke: {}
    zones:
      - name: door
        polygon: [[0, 0], [1, 0], [1, 1]]
        events: [fall, fire]
  - id: b
    url: b.mp4
  - id: a
    url: c.mp4
    events: {fall: {}, intrusion: {enabled: false}}
"""


def test_problems_of_every_kind_are_listed_in_one_pass_with_their_lines() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(MANY_PROBLEMS, source="x.yaml", env={})
    assert [str(i) for i in exc.value.issues] == [
        "x.yaml:2 sight: unknown key (did you mean 'site'?)",
        "x.yaml:8 cameras[0].fps: Input should be less than or equal to 5",
        "x.yaml:11 cameras[0].events.smoke: 'smoke' cannot be detected by the 'clip' profile "
        "(it detects: fall, fire)",
        "x.yaml:15 cameras[0].zones[0].events[1]: 'fire' is not among the camera's events "
        "(fall, smoke)",
        "x.yaml:18 cameras[2].id: camera id 'a' is used more than once (first by cameras[0])",
    ]


def test_cross_checks_of_one_camera_are_not_hidden_by_errors_of_another() -> None:
    text = (
        "cameras:\n"
        "  - {id: a, url: a.mp4, fps: 0}\n"
        "  - id: b\n"
        "    url: b.mp4\n"
        "    zones: [{name: z, polygon: [[0, 0], [1, 0], [1, 1]], events: [explosion]}]\n"
        "  - {id: b, url: c.mp4}\n"
    )
    with pytest.raises(ConfigError) as exc:
        parse_config(text, source="x.yaml", env={})
    lines = [str(i) for i in exc.value.issues]
    assert lines[0].startswith("x.yaml:2 cameras[0].fps:")
    assert lines[1:] == [
        "x.yaml:5 cameras[1].zones[0].events[0]: unknown event type 'explosion'; known: "
        "fall, fire, smoke, intrusion",
        "x.yaml:6 cameras[2].id: camera id 'b' is used more than once (first by cameras[1])",
    ]


@pytest.mark.parametrize(
    ("model", "events", "expected"),
    [
        ("{profile: cues}", "{fall: {}, fire: {}}", None),
        ("{profile: cues}", "{fall: {}, smoke: {enabled: false}}", None),
        ("{profile: clip}", "{smoke: {}, intrusion: {}}", None),
        (
            "{profile: clip, clip: {zeroshot: {prompts: {fire: {positive: [flames]}}}}}",
            "{fire: {}, smoke: {}}",
            "x.yaml:5 cameras[0].events.smoke: 'smoke' cannot be detected by the 'clip' "
            "profile (it detects: fire)",
        ),
        (
            "{profile: clip, clip: {zeroshot: {prompts: {smoke: {positive: [smoke]}}}}}",
            None,
            "x.yaml:3 cameras[0].events: 'fall' cannot be detected by the 'clip' profile (it "
            "detects: smoke); the camera lists no events, so it has the defaults (fall, fire)",
        ),
        # cues detects all four
        ("{profile: cues}", "{smoke: {}, intrusion: {}}", None),
    ],
)
def test_events_the_profile_cannot_detect_are_refused(
    model: str, events: str | None, expected: str | None
) -> None:
    text = f"model: {model}\ncameras:\n  - id: a\n    url: a.mp4\n"
    if events is not None:
        text += f"    events: {events}\n"
    if expected is None:
        parse_config(text, source="x.yaml", env={})
        return
    with pytest.raises(ConfigError) as exc:
        parse_config(text, source="x.yaml", env={})
    assert expected in [str(i) for i in exc.value.issues], exc.value.issues


def test_models_built_in_code_run_the_same_cross_checks() -> None:
    from pydantic import ValidationError

    from vigil.config import CameraConfig, VigilConfig

    zone = {"name": "z", "polygon": [[0, 0], [1, 0], [1, 1]], "events": ["smoke"]}
    with pytest.raises(ValidationError, match=r"zones\[0\]\.events\[0\]: 'smoke' is not among"):
        CameraConfig.model_validate({"id": "a", "url": "a.mp4", "zones": [zone]})
    cam = CameraConfig(id="a", url="a.mp4")
    with pytest.raises(ValidationError, match=r"cameras\[1\]\.id: camera id 'a' is used more"):
        VigilConfig(cameras=[cam, cam])
    smoky = CameraConfig.model_validate({"id": "a", "url": "a.mp4", "events": {"smoke": {}}})
    fire_only = {
        "profile": "clip",
        "clip": {"zeroshot": {"prompts": {"fire": {"positive": ["x"]}}}},
    }
    with pytest.raises(ValidationError, match="cannot be detected by the 'clip' profile"):
        VigilConfig.model_validate({"model": fire_only, "cameras": [smoky]})
    clip = VigilConfig.model_validate({"model": {"profile": "clip"}, "cameras": [smoky]})
    assert clip.cameras == [smoky] and VigilConfig(cameras=[smoky]).cameras == [smoky]


@pytest.mark.parametrize("json_lines", [False, True])
def test_log_times_are_in_the_site_time_zone_with_the_date(json_lines: bool) -> None:
    import io
    import json
    import logging
    import zoneinfo

    import vigil.logs as logs

    before = logs._tz
    try:
        logs.setup_logging("INFO", tz=zoneinfo.ZoneInfo("Asia/Kolkata"))  # +05:30, no DST
        stream = io.StringIO()
        log = logging.getLogger(f"vigil.test.tz.{json_lines}")
        log.propagate = False
        log.addHandler(logs.build_handler(stream, json_lines=json_lines))
        record_time = 1_764_700_000.0  # 2025-12-02 18:26:40 UTC
        rec = log.makeRecord(log.name, logging.INFO, __file__, 1, "hello", (), None)
        rec.created, rec.msecs = record_time, 0.0
        log.handle(rec)
        line = stream.getvalue().strip()
        if json_lines:
            assert json.loads(line)["ts"] == "2025-12-02T23:56:40.000+05:30"
        else:
            assert line.startswith("2025-12-02 23:56:40 IST INFO")
    finally:
        logs._tz = before
