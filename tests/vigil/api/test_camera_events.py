"""Camera state changes of the in-process pipeline reach the live feed; GET /api/cameras shows
fps, drops, reconnects and the last frame time (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from dataclasses import replace

from api_kit import World, bearer
from fastapi.testclient import TestClient

from streamer.state import CameraState, CameraStatus
from vigil.api.app import create_app
from vigil.api.server import CameraWatcher
from vigil.lanes import LaneState


def _status(state: CameraState, reason: str) -> CameraStatus:
    return CameraStatus(
        camera_id="cam-a",
        url="rtsp://cam-a/s",
        state=state,
        since_ts_s=time.time(),
        reason=reason,
        last_frame_ts_s=time.time(),
        input_fps=25.0,
        sampled_fps=2.0,
        reconnects=1,
        drops={"queue_full": 3},
        decode_cpu_s=1.25,
    )


class Lanes:
    """Stands in for the running App's ``lanes()`` (only what the watcher reads)."""

    def __init__(self) -> None:
        self.lane = LaneState(
            camera_id="cam-a",
            name="Camera cam-a",
            location=None,
            fps=2.0,
            url="rtsp://cam-a/s",
            last_pts_s=None,
            last_ts_s=None,
            open_incidents=(),
            status=_status(CameraState.ONLINE, "frames arriving"),
        )

    def lanes(self) -> list[LaneState]:
        return [self.lane]


def test_each_state_change_is_one_live_event(world: World) -> None:
    pipeline = Lanes()
    watcher = CameraWatcher(world.ops, pipeline)
    start = world.ops.last_event_id()
    assert watcher.tick() == 1
    assert watcher.tick() == 0  # unchanged: nothing new
    pipeline.lane = replace(pipeline.lane, status=_status(CameraState.OFFLINE, "connection reset"))
    assert watcher.tick() == 1
    events = world.ops.events_after(start, cameras=None)
    assert [(e.kind, e.payload["state"], e.payload["before"]) for e in events] == [
        ("camera.state", "online", None),
        ("camera.state", "offline", "online"),
    ]
    assert events[1].payload["reason"] == "connection reset"
    assert world.ops.events_after(start, cameras=["cam-b"]) == []  # scoped like every event


def test_cameras_show_live_figures(world: World) -> None:
    tok = world.token("viewer", "viewer")
    app = create_app(world.ops, world.config, media_dir=world.media_dir, pipeline=Lanes())
    with TestClient(app) as c:
        cams = {x["id"]: x for x in c.get("/api/cameras", headers=bearer(tok)).json()}
    a = cams["cam-a"]
    assert a["state"] == "online" and a["sampled_fps"] == 2.0 and a["input_fps"] == 25.0
    assert a["drops"] == {"queue_full": 3} and a["reconnects"] == 1 and a["last_frame_at"]
    assert a["decode_cpu_s"] == 1.25
    assert cams["cam-b"]["state"] is None  # not watched by this pipeline
