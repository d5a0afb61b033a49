"""``vigil cameras probe`` against a real RTSP server and files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import cv2
import pytest
from streamer_testutil import RtspServer, file_launch, live_launch
from typer.testing import CliRunner

from vigil.cli_cameras import EXIT_CODES, app

ServerFactory = Callable[..., RtspServer]
runner = CliRunner()


def probe(*args: str) -> tuple[int, str, str]:
    res = runner.invoke(app, ["probe", *args])
    return res.exit_code, res.stdout, res.stderr


def test_probe_rtsp_prints_stream_facts_and_snapshot(
    clip_gop25: Path, rtsp_server_factory: ServerFactory, tmp_path: Path
) -> None:
    server = rtsp_server_factory({"/clip": file_launch(clip_gop25)})
    snap = tmp_path / "snap.jpg"
    code, out, err = probe(server.url("/clip"), "--snapshot", str(snap))
    assert code == 0, err
    lines = dict(line.split(":", 1) for line in out.splitlines())
    assert lines["codec"].strip().startswith("h264")
    assert lines["resolution"].strip() == "320x240"
    assert lines["fps"].strip() == "25.00"
    assert lines["keyframe interval"].strip() == "1.00 s (25 frames)"
    assert float(lines["time to first frame"].split()[0]) > 0
    assert lines["snapshot"].strip() == str(snap)
    image = cv2.imread(str(snap))
    assert image is not None and image.shape == (240, 320, 3)


def test_probe_json_on_a_file(clip_gop5: Path, tmp_path: Path) -> None:
    code, out, _ = probe(str(clip_gop5), "--json", "--snapshot", str(tmp_path / "s.jpg"))
    data = json.loads(out)
    assert code == 0 and data["ok"] and data["kind"] == "file"
    assert data["keyframe_interval_frames"] == 5 and (data["width"], data["height"]) == (320, 240)


@pytest.mark.parametrize(
    ("path", "user", "kind", "words"),
    [
        ("/nope", "viewer:right", "not_found", "error: not found"),
        ("/live", "viewer:wrong", "auth", "error: authentication failed"),
    ],
)
def test_probe_rtsp_errors_are_clear_and_masked(
    rtsp_server_factory: ServerFactory, path: str, user: str, kind: str, words: str
) -> None:
    server = rtsp_server_factory({"/live": live_launch()}, shared=("/live",), auth="viewer:right")
    name, password = user.split(":")
    code, _, err = probe(server.url(path, name, password))
    assert code == EXIT_CODES[kind]
    assert err.startswith(words) and f"{name}:***@" in err and password not in err


def test_probe_hung_server_times_out(rtsp_server_factory: ServerFactory) -> None:
    server = rtsp_server_factory({"/live": live_launch()}, shared=("/live",))
    server.pause()
    code, _, err = probe(server.url("/live"), "--timeout", "1")
    assert code == EXIT_CODES["timeout"] and err.startswith("error: timeout")


@pytest.mark.parametrize(
    ("url", "kind"),
    [("ftp://cam/x", "malformed_url"), ("/no/such.mp4", "not_found")],
)
def test_probe_bad_urls(url: str, kind: str) -> None:
    code, _, err = probe(url)
    assert code == EXIT_CODES[kind] and err.startswith("error: ")
