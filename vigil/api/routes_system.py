"""Health, readiness and the cameras."""

from __future__ import annotations

import logging
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from storage.db import SchemaState, schema_state
from vigil.api.deps import State, Viewer
from vigil.api.schemas import CameraOut, Health, ZoneOut, iso
from vigil.api.state import ApiState
from vigil.config import CameraConfig

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api", tags=["system"])


@router.get("/health", response_model=Health)
def health() -> Health:
    """Liveness: the process answers (no auth)."""
    return Health(status="ok")


@router.get("/ready", response_model=Health, responses={503: {"model": Health}})
def ready(state: State, _principal: Viewer) -> Health | JSONResponse:
    """Readiness: the database answers, its schema is current, the pipeline runs (if here)."""
    checks: dict[str, str] = {}
    try:
        current = schema_state(state.ops.store.engine)
        checks["database"] = "ok"
        checks["schema"] = "ok" if current is SchemaState.CURRENT else current.value
    except Exception as exc:  # any failure means not ready; say which
        checks["database"] = f"unreachable: {type(exc).__name__}"
    if state.app is not None:
        checks["pipeline"] = "running" if state.app.running else "stopped"
    ok = all(v in ("ok", "running") for v in checks.values())
    body = Health(status="ok" if ok else "unavailable", checks=checks)
    return body if ok else JSONResponse(body.model_dump(), status_code=503)


Source = Literal["config", "runtime"]


def definitions(state: ApiState) -> dict[str, tuple[Source, CameraConfig]]:
    """Each defined camera's config and where it is defined (the config file wins)."""
    out: dict[str, tuple[Source, CameraConfig]] = {}
    for camera_id, stored in state.ops.runtime_cameras():
        try:
            out[camera_id] = ("runtime", CameraConfig.model_validate(stored))
        except ValidationError:
            log.warning("runtime camera %s: its stored config no longer validates", camera_id)
    for cam in state.config.cameras:
        out[cam.id] = ("config", cam)
    return out


def _zones(cam: CameraConfig | None) -> list[ZoneOut]:
    if cam is None:
        return []
    return [
        ZoneOut(name=z.name, polygon=list(z.polygon), events=list(z.events), mask=z.mask)
        for z in cam.zones
    ]


@router.get("/cameras", response_model=list[CameraOut])
def cameras(state: State, principal: Viewer) -> list[CameraOut]:
    """The cameras the caller may see, with live state when the pipeline runs here."""
    live = {}
    if state.app is not None:
        live = {lane.camera_id: lane for lane in state.app.lanes()}
    defined = definitions(state)
    out = []
    for camera_id, name, url in state.ops.cameras():
        if not principal.can_see(camera_id):
            continue
        lane = live.get(camera_id)
        st = None if lane is None or lane.status is None else lane.status
        source, cam = defined.get(camera_id, (None, None))
        out.append(
            CameraOut(
                id=camera_id,
                name=name,
                url=url,
                state=None if st is None else st.state.value,
                reason=None if st is None else st.reason,
                snoozed_until=iso(state.ops.snoozed_until(camera_id)),
                input_fps=None if st is None else round(st.input_fps, 2),
                sampled_fps=None if st is None else round(st.sampled_fps, 2),
                drops={} if st is None else dict(st.drops),
                reconnects=None if st is None else st.reconnects,
                decode_cpu_s=None if st is None else round(st.decode_cpu_s, 3),
                last_frame_at=None if st is None else iso(st.last_frame_ts_s),
                source=source,
                # changed through the API: a runtime camera, where the pipeline runs
                editable=source == "runtime" and state.app is not None,
                fps=None if cam is None else cam.fps,
                events=[] if cam is None else sorted(cam.events),
                zones=_zones(cam),
            )
        )
    return out
