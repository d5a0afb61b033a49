"""Cameras at run time through the API, against a real RTSP server and a running App."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest_cameras import (
    CAM_PASSWORD,
    CAM_PASSWORD_VAR,
    Running,
    apps,
    ref_url,
    rtsp,
    vigil_config,
    wait_frame,
)

from storage.operator_store import OperatorStore
from tests.streamer.streamer_testutil import RtspServer
from tests.support.wait import wait_until
from vigil.config import CameraConfig

__all__ = ["apps", "rtsp"]  # fixtures

Apps = Callable[..., Running]


def _no_secret(text: str) -> None:
    assert CAM_PASSWORD not in text


def test_a_camera_added_at_run_time_is_watched_snapshotted_and_removed(
    tmp_path: Path, apps: Apps, rtsp: RtspServer
) -> None:
    run = apps(vigil_config(tmp_path))
    body = {"id": "dock", "name": "Dock", "url": ref_url(rtsp), "fps": 2}
    resp = run.client.post("/api/cameras", json=body, headers=run.auth("admin"))
    assert resp.status_code == 201, resp.text
    _no_secret(resp.text)
    assert resp.json()["url"] == f"rtsp://viewer:***@127.0.0.1:{rtsp.port}/live"
    wait_frame(run.app, "dock")

    snap = run.client.get("/api/cameras/dock/snapshot", headers=run.auth("viewer"))
    assert snap.status_code == 200 and snap.headers["content-type"] == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(snap.content, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape[:2] == (240, 320)

    listed = run.client.get("/api/cameras", headers=run.auth("viewer"))
    assert "dock" in [c["id"] for c in listed.json()]
    _no_secret(listed.text)
    assert run.app.store is not None
    ((cid, stored),) = OperatorStore(run.app.store).runtime_cameras()
    assert cid == "dock" and "${" + CAM_PASSWORD_VAR + "}" in stored["url"]
    _no_secret(repr(stored))

    gone = run.client.delete("/api/cameras/dock", headers=run.auth("admin"))
    assert gone.status_code == 204
    assert not run.app.watches("dock")
    assert OperatorStore(run.app.store).runtime_cameras() == []
    assert run.client.delete("/api/cameras/dock", headers=run.auth("admin")).status_code == 404


def test_a_runtime_camera_comes_back_after_a_restart_and_can_be_changed(
    tmp_path: Path, apps: Apps, rtsp: RtspServer
) -> None:
    cfg = vigil_config(tmp_path)
    first = apps(cfg)
    body = {"id": "yard", "url": ref_url(rtsp, "/other"), "fps": 2}
    resp = first.client.post("/api/cameras", json=body, headers=first.auth("admin"))
    assert resp.status_code == 201, resp.text
    first.stop()

    again = apps(cfg, tokens=False)
    again.tokens = first.tokens  # the same database: the same tokens
    assert again.app.watches("yard")
    wait_frame(again.app, "yard")
    frame = again.app.latest_frame("yard")
    assert frame is not None and frame.image.shape[:2] == (120, 160)

    patch = {"name": "Yard", "url": ref_url(rtsp, "/live"), "fps": 3}
    changed = again.client.patch("/api/cameras/yard", json=patch, headers=again.auth("admin"))
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["fps"]) == ("Yard", 3.0)
    _no_secret(changed.text)
    wait_until(
        lambda: (f := again.app.latest_frame("yard")) is not None and f.image.shape[1] == 320,
        timeout_s=30,
        what="frames of the changed URL",
    )


def test_refusals_name_the_reason_and_never_echo_the_password(
    tmp_path: Path, apps: Apps, rtsp: RtspServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = apps(vigil_config(tmp_path, f'[{{id: fixed, url: "{ref_url(rtsp)}"}}]'))
    admin = run.auth("admin")

    def post(body: dict[str, object], headers: dict[str, str] = admin) -> tuple[int, str]:
        resp = run.client.post("/api/cameras", json=body, headers=headers)
        return resp.status_code, resp.text

    literal = rtsp.url("/live", "viewer", CAM_PASSWORD)
    code, text = post({"id": "lit", "url": literal})
    assert code == 422 and "${VAR}" in text
    _no_secret(text)
    code, text = post({"id": "dflt", "url": rtsp.url("/live", "viewer", "${PW:-" + "x" * 8 + "}")})
    assert code == 422 and "plain text" in text  # a default would be kept as it is
    monkeypatch.setenv("VIGIL_TEST_WRONG_PW", "not-the-password")
    code, text = post({"id": "bad", "url": rtsp.url("/live", "viewer", "${VIGIL_TEST_WRONG_PW}")})
    assert code == 422 and "(auth)" in text and "not-the-password" not in text, text
    code, text = post({"id": "unset", "url": rtsp.url("/live", "viewer", "${VIGIL_TEST_UNSET}")})
    assert code == 422 and "VIGIL_TEST_UNSET not set" in text
    code, text = post({"id": "down", "url": "rtsp://127.0.0.1:9/none"})
    assert code == 422 and "connection_refused" in text, text
    code, text = post({"id": "bad id!", "url": literal, "fps": 99})
    assert code == 422 and "fps" in text
    _no_secret(text)
    assert post({"id": "fixed", "url": ref_url(rtsp)})[0] == 409
    assert post({"id": "x", "url": ref_url(rtsp)}, run.auth("operator"))[0] == 403
    assert post({"id": "x", "url": ref_url(rtsp)}, run.auth("scoped"))[0] == 403
    assert run.client.post("/api/cameras", json={"id": "x", "url": "a.mp4"}).status_code == 401
    assert run.client.patch("/api/cameras/fixed", json={}, headers=admin).status_code == 409
    assert run.client.delete("/api/cameras/fixed", headers=admin).status_code == 409
    assert run.client.delete("/api/cameras/nope", headers=admin).status_code == 404
    assert not any(run.app.watches(c) for c in ("lit", "dflt", "bad", "unset", "down", "x"))


def test_probe_returns_the_classified_result_with_the_password_masked(
    tmp_path: Path, apps: Apps, rtsp: RtspServer
) -> None:
    run = apps(vigil_config(tmp_path))
    good = rtsp.url("/live", "viewer", CAM_PASSWORD)
    resp = run.client.post("/api/cameras/probe", json={"url": good}, headers=run.auth("operator"))
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["ok"] and (out["width"], out["height"], out["codec"]) == (320, 240, "h264")
    assert out["url"] == f"rtsp://viewer:***@127.0.0.1:{rtsp.port}/live"
    _no_secret(resp.text)

    bad = rtsp.url("/live", "viewer", "wrong-" + CAM_PASSWORD)
    resp = run.client.post("/api/cameras/probe", json={"url": bad}, headers=run.auth("admin"))
    assert resp.status_code == 200 and resp.json()["kind"] == "auth", resp.text
    assert "wrong-" not in resp.text
    viewer = run.client.post("/api/cameras/probe", json={"url": bad}, headers=run.auth("viewer"))
    assert viewer.status_code == 403


def test_snapshot_of_an_unknown_or_hidden_camera_is_404_and_before_a_frame_503(
    tmp_path: Path, apps: Apps, rtsp: RtspServer
) -> None:
    run = apps(vigil_config(tmp_path))
    viewer = run.auth("viewer")
    assert run.client.get("/api/cameras/nope/snapshot", headers=viewer).status_code == 404
    rtsp.pause()  # the camera's server takes the connection but sends nothing: no frame yet
    try:
        run.app.add_camera(CameraConfig(id="hung", url=rtsp.url("/live", "viewer", CAM_PASSWORD)))
        snap = run.client.get("/api/cameras/hung/snapshot", headers=viewer)
        assert snap.status_code == 503 and "no frame" in snap.text
        hidden = run.client.get("/api/cameras/hung/snapshot", headers=run.auth("scoped"))
        assert hidden.status_code == 404
    finally:
        rtsp.resume()


def test_a_probe_of_a_hung_server_ends_as_a_timeout(rtsp: RtspServer) -> None:
    from streamer.settings import StreamerConfig
    from vigil.api.routes_probe import KEYFRAME_WAIT_S, PROBE_GRACE_S, probe_url

    config = StreamerConfig(open_timeout_s=1.0)
    rtsp.pause()
    try:
        started = time.monotonic()
        out = probe_url(rtsp.url("/live", "viewer", CAM_PASSWORD), config)
        elapsed = time.monotonic() - started
    finally:
        rtsp.resume()
    assert (out.ok, out.kind) == (False, "timeout"), out
    assert elapsed < config.open_timeout_s + KEYFRAME_WAIT_S + PROBE_GRACE_S + 1
    assert CAM_PASSWORD not in out.model_dump_json()
