"""The FastAPI app of the operator service."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from storage.errors import StorageError
from storage.operator_store import OperatorStore
from vigil import __version__
from vigil.api import (
    metrics,
    routes_auth,
    routes_camera_admin,
    routes_events,
    routes_handover,
    routes_incidents,
    routes_probe,
    routes_search,
    routes_snapshot,
    routes_system,
    routes_thumbnail,
    routes_workflow,
)
from vigil.api.state import ApiState, LoginLimiter
from vigil.config import VigilConfig
from vigil.console import mount as mount_console

log = logging.getLogger(__name__)


def create_app(
    ops: OperatorStore, config: VigilConfig, *, media_dir: Path, pipeline: Any = None
) -> FastAPI:
    """The API over ``ops``; ``pipeline`` is the running ``App`` when it runs in-process."""
    api = FastAPI(
        title="Vigil",
        version=__version__,
        description="Incidents, the shared operator workflow, history and the live feed.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    api.state.vigil = ApiState(
        ops=ops,
        config=config,
        media_dir=media_dir,
        app=pipeline,
        limiter=LoginLimiter(config.api.login_attempts, config.api.login_lockout_s),
    )
    api.state.vigil.metrics = metrics.registry_for(api.state.vigil)
    for module in (
        routes_system,
        routes_auth,
        routes_incidents,
        routes_thumbnail,
        routes_workflow,
        routes_events,
        routes_search,
        routes_probe,  # before the camera routes with an id: /cameras/probe is no id
        routes_snapshot,
        routes_camera_admin,
        metrics,
        routes_handover,
    ):
        api.include_router(module.router)
    mount_console(api)  # the browser console's pages (/, /login, ...) and /static

    @api.exception_handler(StorageError)
    async def _storage_down(_request: Request, exc: StorageError) -> JSONResponse:
        log.warning("API: database error: %s", exc)
        return JSONResponse(
            {"detail": f"database unavailable, nothing was changed: {exc}"}, status_code=503
        )

    @api.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's own handler echoes the input as UTF-8 and fails (500) on a lone surrogate
        # (e.g. JSON "\\ud800"); ASCII-escaped JSON carries any input back
        body = json.dumps({"detail": jsonable_encoder(exc.errors())}, ensure_ascii=True)
        return Response(body, status_code=422, media_type="application/json")

    return api
