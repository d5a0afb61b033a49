"""``vigil run``: watch the configured cameras; the start-up and signal handling it shares with
``vigil demo``."""

from __future__ import annotations

import logging
import signal
import zoneinfo
from types import FrameType
from typing import Annotated, Any

import typer

from streamer.masking import mask_text
from vigil.cli_common import ConfigOpt
from vigil.cli_common import load_or_exit as _load
from vigil.cli_incidents import _iso
from vigil.config import VigilConfig

log = logging.getLogger("vigil")


def _print_update(tz: zoneinfo.ZoneInfo) -> Any:
    def show(update: Any, report: Any) -> None:
        from detectors.types import UpdateKind

        if update.kind is UpdateKind.UPDATE:
            return
        verb = "OPEN " if update.kind is UpdateKind.OPEN else "CLOSE"
        line = (
            f"{verb} {update.event_type:<9} camera={update.camera_id} "
            f"at={_iso(update.opened_ts_s, tz)} stream_t={update.onset_pts_s:.1f}s "
            f"peak={update.peak_score:.2f} "
            f"id={update.incident_id[:12]}"
        )
        if update.kind is UpdateKind.CLOSE:
            line += f" duration={update.duration_s:.1f}s reason={update.close_reason}"
        typer.echo(line)

    return show


def install_signals(app_obj: Any) -> None:
    """SIGTERM and SIGINT ask ``app_obj`` to stop."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s received: stopping", signal.Signals(signum).name)
        app_obj.request_stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def start_app(cfg: VigilConfig, *, pace: bool) -> Any:
    """A started ``App`` for ``cfg``, or print why it failed and exit 1."""
    from vigil.app import App

    app_obj = App(cfg, pace=pace)
    try:
        app_obj.start()  # stops what it started if a step fails
    except Exception as exc:
        log.debug("start-up failed", exc_info=True)
        typer.echo(f"error: {mask_text(str(exc))}", err=True)
        raise typer.Exit(1) from None
    return app_obj


def run(
    config: ConfigOpt,
    fast: Annotated[
        bool, typer.Option("--fast", help="Play file sources as fast as possible.")
    ] = False,
    api: Annotated[
        bool, typer.Option("--api/--no-api", help="Serve the operator API (api.bind) alongside.")
    ] = True,
) -> None:
    """Watch the configured cameras until Ctrl-C / SIGTERM, or until every file source ended."""
    cfg = _load(config, check_paths=True)
    if not cfg.cameras:
        typer.echo(f"{config}: no cameras configured", err=True)
        raise typer.Exit(2)
    from vigil.cli_status import RunStatus

    app_obj = start_app(cfg, pace=not fast)
    app_obj.on_update(_print_update(cfg.tz))
    install_signals(app_obj)
    server = None
    if cfg.api.enabled and api:
        from vigil.cli_serve import start_api

        server = start_api(cfg, app_obj.store, pipeline=app_obj)
    try:
        with RunStatus(app_obj):
            stats = app_obj.run()
        statuses = app_obj.camera_statuses()
    finally:
        if server is not None:
            server.stop()
        app_obj.stop()
    failed = {cid: st for cid, st in statuses.items() if st.state.value == "failed"}
    if statuses and len(failed) == len(statuses):
        for cid, st in sorted(failed.items()):
            typer.echo(f"camera {cid} failed: {st.last_error or st.reason}", err=True)
        typer.echo("error: every camera failed; nothing was watched", err=True)
        raise typer.Exit(1)
    log.info(
        "processed %d frame(s); %d incident(s) opened, %d closed",
        stats.frames,
        stats.opened,
        stats.closed,
    )
    if app_obj.stats.lost:
        raise typer.Exit(1)
