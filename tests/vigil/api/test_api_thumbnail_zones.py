"""Incident thumbnails and the cameras' zones through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np
import pytest
from api_kit import World, add_keyframe, bearer
from fastapi.testclient import TestClient

from vigil.api import routes_thumbnail
from vigil.api.app import create_app
from vigil.config import CameraConfig

pytestmark = pytest.mark.timeout(120)


def _decode(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def test_a_thumbnail_is_160_wide_prefers_the_annotated_keyframe_and_is_cached(
    world: World, client: TestClient
) -> None:
    inc = world.record()
    add_keyframe(world, inc, "kf/onset.jpg", size=(640, 480))
    add_keyframe(world, inc, "kf/annotated.jpg", kind="keyframe:annotated", size=(320, 180))
    viewer = bearer(world.token("v", "viewer"))
    resp = client.get(f"/api/incidents/{inc}/thumbnail", headers=viewer)
    assert resp.status_code == 200 and resp.headers["content-type"] == "image/jpeg"
    assert _decode(resp.content).shape[:2] == (90, 160)  # the annotated one, 320x180
    before = len(routes_thumbnail.CACHE)
    again = client.get(f"/api/incidents/{inc}/thumbnail", headers=viewer)
    assert again.content == resp.content and len(routes_thumbnail.CACHE) == before

    only_clean = world.record()
    add_keyframe(world, only_clean, "kf/clean.jpg", size=(640, 480))
    image = _decode(client.get(f"/api/incidents/{only_clean}/thumbnail", headers=viewer).content)
    assert image.shape[:2] == (120, 160)
    assert image[60, 20, 2] > 200 and image[60, 140, 2] < 60  # left red, right black


def test_no_thumbnail_without_a_keyframe_or_outside_ones_cameras(
    world: World, client: TestClient
) -> None:
    bare = world.record()
    world.add_media(bare, "clips/x.mp4", b"not a picture")
    admin = bearer(world.token("a", "admin"))
    assert client.get(f"/api/incidents/{bare}/thumbnail", headers=admin).status_code == 404
    gone = world.record()
    add_keyframe(world, gone, "kf/gone.jpg")
    (world.media_dir / "kf/gone.jpg").unlink()
    assert client.get(f"/api/incidents/{gone}/thumbnail", headers=admin).status_code == 404
    broken = world.record()
    add_keyframe(world, broken, "kf/broken.jpg")
    (world.media_dir / "kf/broken.jpg").write_bytes(b"\xff\xd8 not really")
    assert client.get(f"/api/incidents/{broken}/thumbnail", headers=admin).status_code == 404
    hidden = world.record(camera_id="cam-b")
    add_keyframe(world, hidden, "kf/b.jpg")
    only_a = bearer(world.token("only-a", "viewer", ["cam-a"]))
    assert client.get(f"/api/incidents/{hidden}/thumbnail", headers=only_a).status_code == 404
    assert client.get(f"/api/incidents/{hidden}/thumbnail", headers=admin).status_code == 200
    assert client.get("/api/incidents/nope/thumbnail", headers=admin).status_code == 404


ZONE = {"name": "door", "polygon": [[0.1, 0.1], [0.5, 0.1], [0.5, 0.6]], "events": ["fall"]}


class FakePipeline:
    """Enough of ``App`` for the camera routes: which cameras it watches, with what config."""

    running = True

    def __init__(self) -> None:
        self.watched: dict[str, CameraConfig] = {}

    def watches(self, camera_id: str) -> bool:
        return camera_id in self.watched

    def add_camera(self, cam: CameraConfig) -> None:
        self.watched[cam.id] = cam

    def remove_camera(self, camera_id: str) -> None:
        del self.watched[camera_id]

    def camera_statuses(self) -> dict[str, Any]:
        return {}

    def lanes(self) -> list[Any]:
        return []


@pytest.fixture
def zoned(world: World) -> Iterator[tuple[TestClient, FakePipeline, dict[str, str]]]:
    """cam-a from the config file with a zone, cam-r a runtime camera, a fake pipeline."""
    cam_a = CameraConfig.model_validate({"id": "cam-a", "url": "a.mp4", "zones": [ZONE]})
    config = world.config.model_copy(update={"cameras": [cam_a]})
    pipeline = FakePipeline()
    stored = {"id": "cam-r", "url": "r.mp4", "events": {"fall": {}}}
    world.ops.put_runtime_camera("cam-r", stored)
    world.store.upsert_camera(camera_id="cam-r", name="R", location=None, url_masked="r.mp4")
    pipeline.add_camera(CameraConfig.model_validate(stored))
    app = create_app(world.ops, config, media_dir=world.media_dir, pipeline=pipeline)
    tokens = {r: world.token(r, r) for r in ("viewer", "admin")}
    with TestClient(app) as c:
        yield c, pipeline, tokens


def _listed(client: TestClient, token: str) -> dict[str, dict[str, Any]]:
    resp = client.get("/api/cameras", headers=bearer(token))
    assert resp.status_code == 200, resp.text
    return {c["id"]: c for c in resp.json()}


def test_cameras_show_their_zones_and_whether_they_are_editable(
    zoned: tuple[TestClient, FakePipeline, dict[str, str]],
) -> None:
    client, _pipeline, tokens = zoned
    cams = _listed(client, tokens["viewer"])
    assert (cams["cam-a"]["source"], cams["cam-a"]["editable"]) == ("config", False)
    assert cams["cam-a"]["zones"] == [{**ZONE, "mask": False}]
    assert (cams["cam-r"]["source"], cams["cam-r"]["editable"]) == ("runtime", True)
    assert cams["cam-r"]["zones"] == [] and cams["cam-r"]["events"] == ["fall"]
    assert (cams["cam-b"]["source"], cams["cam-b"]["editable"], cams["cam-b"]["zones"]) == (
        None,
        False,
        [],
    )


def test_zones_saved_through_patch_come_back_and_reach_the_pipeline(
    zoned: tuple[TestClient, FakePipeline, dict[str, str]],
) -> None:
    client, pipeline, tokens = zoned
    mask = {"name": "tree", "polygon": [[0, 0], [1, 0], [1, 0.2], [0, 0.2]], "mask": True}
    body = {"zones": [ZONE, mask]}
    resp = client.patch("/api/cameras/cam-r", json=body, headers=bearer(tokens["admin"]))
    assert resp.status_code == 200, resp.text
    zones = _listed(client, tokens["viewer"])["cam-r"]["zones"]
    assert zones == [{**ZONE, "mask": False}, {**mask, "events": []}]
    live = pipeline.watched["cam-r"]
    assert [(z.name, z.mask) for z in live.zones] == [("door", False), ("tree", True)]
    assert live.zones[0].polygon == [(0.1, 0.1), (0.5, 0.1), (0.5, 0.6)]

    outside = {"zones": [{"name": "x", "polygon": [[0, 0], [2, 0], [0, 1]]}]}
    bad = client.patch("/api/cameras/cam-r", json=outside, headers=bearer(tokens["admin"]))
    assert bad.status_code == 422 and "outside [0, 1]" in bad.text
    wrong_event = {"zones": [{**ZONE, "events": ["fire"]}]}  # cam-r detects only falls
    bad = client.patch("/api/cameras/cam-r", json=wrong_event, headers=bearer(tokens["admin"]))
    assert bad.status_code == 422
    assert len(_listed(client, tokens["viewer"])["cam-r"]["zones"]) == 2  # unchanged
    cleared = client.patch(
        "/api/cameras/cam-r", json={"zones": []}, headers=bearer(tokens["admin"])
    )
    assert cleared.status_code == 200 and _listed(client, tokens["viewer"])["cam-r"]["zones"] == []
    config_cam = client.patch("/api/cameras/cam-a", json=body, headers=bearer(tokens["admin"]))
    assert config_cam.status_code == 409
    viewer = client.patch("/api/cameras/cam-r", json=body, headers=bearer(tokens["viewer"]))
    assert viewer.status_code == 403
