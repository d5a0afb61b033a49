"""``vigil serve``: the operator service alone, on the configured database (another machine
than the pipeline's, sharing its PostgreSQL); and starting it beside ``vigil run``."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import typer

from vigil.cli_common import ConfigOpt, load_or_exit, open_store_or_exit
from vigil.config import VigilConfig

if TYPE_CHECKING:
    from vigil.api.server import ApiServer

log = logging.getLogger("vigil")


def start_api(cfg: VigilConfig, store: Any, *, pipeline: Any = None) -> ApiServer | None:
    """Serve the API on ``api.bind`` beside the pipeline; None (with a warning) if it cannot.

    A port already in use does not stop detection: incidents are still recorded.
    """
    from storage.operator_store import OperatorStore
    from vigil.api.server import ApiServer

    server = ApiServer(
        OperatorStore(store), cfg, media_dir=Path(cfg.storage.media_dir), pipeline=pipeline
    )
    try:
        server.start()
    except OSError as exc:
        log.error("API not started: %s; the pipeline runs without it", exc)
        return None
    return server


def serve(config: ConfigOpt) -> None:
    """Serve the operator API (no pipeline) until Ctrl-C / SIGTERM."""
    cfg = load_or_exit(config)
    store = open_store_or_exit(cfg)
    stop = threading.Event()

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s received: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    server = start_api(cfg, store)
    if server is None:
        store.close()
        typer.echo(f"error: could not listen on {cfg.api.bind}", err=True)
        raise typer.Exit(1)
    typer.echo(f"Vigil API on {server.url}/api (OpenAPI: {server.url}/api/openapi.json)")
    try:
        stop.wait()
    finally:
        server.stop()
        store.close()
