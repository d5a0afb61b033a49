"""``POST /api/cameras/probe``: open a URL as Vigil would and say what it carries or why not."""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field

from streamer.masking import mask_text, mask_url
from streamer.probe import ProbeResult, probe
from streamer.settings import StreamerConfig
from streamer.source import SourceError
from vigil.api.deps import Operator, State
from vigil.runtime_cameras import CameraSecretError, expand_url

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api", tags=["cameras"])

#: Seconds the probe waits for keyframes after the first frame (the interval it measures).
KEYFRAME_WAIT_S = 3.0
#: Seconds beyond the streamer's open timeout a probe may take before it counts as timed out.
PROBE_GRACE_S = 5.0


class ProbeIn(BaseModel):
    """A URL to probe; secrets may be given as ``${VAR}`` of the Vigil process's environment."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1)
    transport: str | None = Field(None, pattern="^(tcp|udp)$")


class ProbeOut(BaseModel):
    """The probe's classified result; ``url`` and ``message`` never show a password."""

    ok: bool
    url: str
    kind: str | None = Field(None, description="Why it failed: auth, not_found, timeout, ...")
    message: str | None = None
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    keyframe_interval_s: float | None = None
    time_to_first_frame_s: float | None = None


def probe_url(url: str, config: StreamerConfig, transport: str | None = None) -> ProbeOut:
    """Probe ``url`` on a worker thread with a timeout; the result masked."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["result"] = probe(
                url, config=config, transport=transport, keyframe_wait_s=KEYFRAME_WAIT_S
            )
        except Exception as exc:  # classified below; never raised into the request
            box["error"] = exc

    worker = threading.Thread(target=work, name="vigil-probe", daemon=True)
    worker.start()
    worker.join(config.open_timeout_s + KEYFRAME_WAIT_S + PROBE_GRACE_S)
    masked = mask_url(url)
    if worker.is_alive() or not box:
        return ProbeOut(ok=False, url=masked, kind="timeout", message=f"timeout: {masked}")
    if "result" in box:
        return _found(masked, box["result"])
    exc = box["error"]
    kind = exc.kind if isinstance(exc, SourceError) else "io"
    return ProbeOut(ok=False, url=masked, kind=kind, message=mask_text(str(exc), url=url))


def _found(masked: str, r: ProbeResult) -> ProbeOut:
    return ProbeOut(
        ok=True,
        url=masked,
        codec=r.codec,
        width=r.width,
        height=r.height,
        fps=r.fps,
        keyframe_interval_s=r.keyframe_interval_s,
        time_to_first_frame_s=r.time_to_first_frame_s,
    )


@router.post("/cameras/probe", response_model=ProbeOut)
def probe_camera(body: ProbeIn, state: State, _principal: Operator) -> ProbeOut:
    """Open the URL, decode a frame and measure it; 200 with ``ok: false`` and why if not."""
    try:
        url = expand_url(body.url, os.environ)
    except CameraSecretError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from None
    out = probe_url(url, state.config.streamer, body.transport)
    log.info("API: probe of %s: %s", out.url, "ok" if out.ok else out.kind)
    return out
