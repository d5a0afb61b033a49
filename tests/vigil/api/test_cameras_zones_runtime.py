"""Zones saved through ``PATCH /api/cameras/{id}`` reach the running pipeline's camera."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest_cameras import Running, apps, ref_url, rtsp, vigil_config, wait_frame

from tests.streamer.streamer_testutil import RtspServer

__all__ = ["apps", "rtsp"]  # fixtures

pytestmark = pytest.mark.timeout(120)


def test_zones_patched_on_a_runtime_camera_reach_its_lane_and_come_back(
    tmp_path: Path, apps: Callable[..., Running], rtsp: RtspServer
) -> None:
    run = apps(vigil_config(tmp_path))
    body = {"id": "dock", "url": ref_url(rtsp), "fps": 2, "events": {"fall": {}}}
    assert run.client.post("/api/cameras", json=body, headers=run.auth("admin")).status_code == 201
    zone = {"name": "door", "polygon": [[0.1, 0.2], [0.6, 0.2], [0.6, 0.9]], "events": ["fall"]}
    resp = run.client.patch("/api/cameras/dock", json={"zones": [zone]}, headers=run.auth("admin"))
    assert resp.status_code == 200, resp.text
    live = run.app.pipeline.camera_of("dock")
    assert live is not None and [z.name for z in live.zones] == ["door"]
    assert live.zones[0].polygon == [(0.1, 0.2), (0.6, 0.2), (0.6, 0.9)]
    wait_frame(run.app, "dock")  # the camera runs again after the change
    (cam,) = run.client.get("/api/cameras", headers=run.auth("viewer")).json()
    assert cam["zones"] == [{**zone, "mask": False}] and cam["editable"] is True
