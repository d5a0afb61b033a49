"""Cameras at run time: ``POST /api/cameras``, ``PATCH`` and ``DELETE /api/cameras/{id}``.

Admins add, change and remove cameras without a restart; each is probed first and kept in the
database (``runtime_cameras``, secrets only as ``${VAR}``) so it comes back at the next start.
The config file's cameras stay the config file's: their ids are refused here (409).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Body, HTTPException, Response, status
from pydantic import BaseModel, ValidationError

from vigil.api.deps import Admin, Principal, State
from vigil.api.routes_probe import probe_url
from vigil.api.state import ApiState
from vigil.config import CameraConfig
from vigil.runtime_cameras import CameraSecretError, resolve, stored_form

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api", tags=["cameras"])

_422 = status.HTTP_422_UNPROCESSABLE_CONTENT


class RuntimeCameraOut(BaseModel):
    """A runtime camera as kept (URL masked) with its live state."""

    id: str
    name: str
    location: str | None
    url: str
    fps: float
    enabled: bool
    events: list[str]
    source: str = "runtime"
    state: str | None = None


def _fail(code: int, detail: str) -> HTTPException:
    return HTTPException(code, detail=detail)


def _validated(data: dict[str, Any]) -> CameraConfig:
    """The camera ``data`` describes; 422 listing what is wrong (never echoing the input)."""
    try:
        return CameraConfig.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)
        ]
        raise _fail(_422, "; ".join(problems)) from None


def _app(state: ApiState) -> Any:
    if state.app is None:
        # the request is fine, this process is the wrong place for it: 409, not a 5xx
        raise _fail(
            status.HTTP_409_CONFLICT,
            "the pipeline does not run in this process: cameras are changed where it runs",
        )
    return state.app


def _config_ids(state: ApiState) -> set[str]:
    return {c.id for c in state.config.cameras}


def _start(state: ApiState, cam: CameraConfig, *, probe_it: bool) -> CameraConfig:
    """The camera to watch (references expanded), probed first; 422 with the probe's reason."""
    try:
        live = resolve(stored_form(cam))
    except CameraSecretError as exc:
        raise _fail(_422, str(exc)) from None
    if probe_it and live.enabled:
        found = probe_url(live.url, state.config.streamer, live.transport)
        if not found.ok:
            raise _fail(_422, f"the camera's URL failed its probe ({found.kind}): {found.message}")
    return live


def _out(cam: CameraConfig, app: Any) -> RuntimeCameraOut:
    st = app.camera_statuses().get(cam.id)
    return RuntimeCameraOut(
        id=cam.id,
        name=cam.display_name,
        location=cam.location,
        url=cam.masked_url,
        fps=cam.fps,
        enabled=cam.enabled,
        events=sorted(cam.events),
        state=None if st is None else st.state.value,
    )


def _check_scope(principal: Principal, camera_id: str) -> None:
    if not principal.can_see(camera_id):
        raise _fail(status.HTTP_403_FORBIDDEN, f"camera {camera_id!r} is outside your cameras")


@router.post("/cameras", status_code=201, response_model=RuntimeCameraOut)
def add_camera(
    state: State, principal: Admin, body: dict[str, Any] = Body(...)
) -> RuntimeCameraOut:
    """Probe, keep and start watching a new camera (its id must be new)."""
    app = _app(state)
    cam = _validated(body)
    _check_scope(principal, cam.id)
    with state.camera_lock:
        if cam.id in _config_ids(state):
            raise _fail(409, f"camera {cam.id!r} is defined in the config file; change it there")
        if app.watches(cam.id) or cam.id in dict(state.ops.runtime_cameras()):
            raise _fail(409, f"camera {cam.id!r} exists")
        live = _start(state, cam, probe_it=True)
        state.ops.put_runtime_camera(cam.id, stored_form(cam))
        if live.enabled:
            try:
                app.add_camera(live)
            except Exception:
                state.ops.remove_runtime_camera(cam.id)
                raise
    log.info("API: %s added camera %s (%s)", principal.actor, cam.id, cam.masked_url)
    return _out(cam, app)


def _runtime_camera(state: ApiState, principal: Principal, camera_id: str) -> dict[str, Any]:
    """The stored config of a runtime camera; 409 for the config file's, 404 for none."""
    if not principal.can_see(camera_id):
        raise _fail(404, f"no camera {camera_id!r}")
    if camera_id in _config_ids(state):
        raise _fail(409, f"camera {camera_id!r} is defined in the config file; change it there")
    stored = dict(state.ops.runtime_cameras()).get(camera_id)
    if stored is None:
        raise _fail(404, f"no runtime camera {camera_id!r}")
    return stored


@router.patch("/cameras/{camera_id}", response_model=RuntimeCameraOut)
def update_camera(
    camera_id: str, state: State, principal: Admin, body: dict[str, Any] = Body(...)
) -> RuntimeCameraOut:
    """Change a runtime camera (the fields given); a new URL is probed first."""
    if not principal.can_see(camera_id):  # before anything that would confirm it exists
        raise _fail(404, f"no camera {camera_id!r}")
    app = _app(state)
    if body.get("id", camera_id) != camera_id:
        raise _fail(_422, "id: a camera's id cannot change (remove it and add another)")
    with state.camera_lock:
        stored = _runtime_camera(state, principal, camera_id)
        cam = _validated({**stored, **body, "id": camera_id})
        live = _start(state, cam, probe_it="url" in body or "transport" in body)
        if app.watches(camera_id):
            app.remove_camera(camera_id)
        state.ops.put_runtime_camera(camera_id, stored_form(cam))
        if live.enabled:
            app.add_camera(live)
    log.info("API: %s changed camera %s (%s)", principal.actor, camera_id, ", ".join(sorted(body)))
    return _out(cam, app)


@router.delete("/cameras/{camera_id}", status_code=204, response_class=Response)
def remove_camera(camera_id: str, state: State, principal: Admin) -> Response:
    """Stop watching a runtime camera and forget it (its incidents stay)."""
    if not principal.can_see(camera_id):  # before anything that would confirm it exists
        raise _fail(404, f"no camera {camera_id!r}")
    app = _app(state)
    with state.camera_lock:
        _runtime_camera(state, principal, camera_id)
        if app.watches(camera_id):
            app.remove_camera(camera_id)
        state.ops.remove_runtime_camera(camera_id)
    log.info("API: %s removed camera %s", principal.actor, camera_id)
    return Response(status_code=204)
