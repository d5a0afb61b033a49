"""The ``vigil`` command line."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import logging
import re
import signal
import sys
import time
import zoneinfo
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from streamer.masking import mask_text, mask_url
from vigil import __version__
from vigil.cli_common import ConfigOpt
from vigil.cli_common import load_or_exit as _load
from vigil.cli_common import open_store_or_exit as _open_store
from vigil.config import ConfigError, VigilConfig, load_config

app = typer.Typer(
    name="vigil",
    help="Vigil: real-time video monitoring. Cameras in, incidents and reports out.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Check configuration files.", no_args_is_help=True)
incidents_app = typer.Typer(help="Query incident history.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(incidents_app, name="incidents")

# Sub-apps owned by the stages' command modules; each is mounted when it imports.
for _module, _name in (
    ("vigil.cli_cameras", "cameras"),
    ("vigil.cli_db", "db"),
    ("vigil.cli_engines", "engines"),
):
    try:
        app.add_typer(importlib.import_module(_module).app, name=_name)
    except ImportError as _exc:  # an optional extra is not installed
        logging.getLogger(__name__).debug("command group %s unavailable: %s", _name, _exc)

out = Console()
err = Console(stderr=True)
log = logging.getLogger("vigil")


def _iso(ts_s: float | None, tz: zoneinfo.ZoneInfo) -> str:
    if ts_s is None:
        return "-"
    return dt.datetime.fromtimestamp(ts_s, tz).isoformat(timespec="seconds")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"vigil {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version.", is_eager=True, callback=_print_version
        ),
    ] = False,
) -> None:
    """Vigil's command line (``--version`` is handled by its callback)."""


@config_app.command("check")
def config_check(
    file: Annotated[Path | None, typer.Argument(help="Config file to check.")] = None,
    config: Annotated[
        Path | None,
        typer.Option("-c", "--config", envvar="VIGIL_CONFIG", help="Same as FILE."),
    ] = None,
) -> None:
    """Validate a config file; print every problem as FILE:LINE key.path: message."""
    file = file or config
    if file is None:
        typer.echo("error: give the config file: vigil config check FILE (or -c FILE)", err=True)
        raise typer.Exit(2)
    try:
        cfg = load_config(file, check_paths=True)
    except ConfigError as exc:
        for issue in exc.issues:
            typer.echo(str(issue), err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"{file}: OK ({len(cfg.cameras)} camera(s), profile {cfg.model.profile}, "
        f"database {mask_url(cfg.storage.database_url)})"
    )


@config_app.command("default")
def config_default() -> None:
    """Print the documented default config (every option, its bounds and default)."""
    from vigil.config_doc import render_default_config

    sys.stdout.write(render_default_config())


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


def _install_signals(app_obj: Any) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s received: stopping", signal.Signals(signum).name)
        app_obj.request_stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _start_app(cfg: VigilConfig, *, pace: bool) -> Any:
    from vigil.app import App

    app_obj = App(cfg, pace=pace)
    try:
        app_obj.start()  # stops what it started if a step fails
    except Exception as exc:
        log.debug("start-up failed", exc_info=True)
        typer.echo(f"error: {mask_text(str(exc))}", err=True)
        raise typer.Exit(1) from None
    return app_obj


@app.command()
def run(
    config: ConfigOpt,
    fast: Annotated[
        bool, typer.Option("--fast", help="Play file sources as fast as possible.")
    ] = False,
) -> None:
    """Watch the configured cameras until Ctrl-C / SIGTERM, or until every file source ended."""
    cfg = _load(config, check_paths=True)
    if not cfg.cameras:
        typer.echo(f"{config}: no cameras configured", err=True)
        raise typer.Exit(2)
    from vigil.cli_status import RunStatus

    app_obj = _start_app(cfg, pace=not fast)
    app_obj.on_update(_print_update(cfg.tz))
    _install_signals(app_obj)
    try:
        with RunStatus(app_obj):
            stats = app_obj.run()
        statuses = app_obj.camera_statuses()
    finally:
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


@app.command("sample-clip")
def sample_clip(
    out_path: Annotated[Path, typer.Argument(metavar="OUT.mp4", help="Where to write the clip.")],
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same clip).")] = 0,
    scenario: Annotated[
        str, typer.Option(help="demo (a fall and a fire among ordinary activity) or walking.")
    ] = "demo",
    duration: Annotated[float, typer.Option(help="Length in seconds.", min=10)] = 60.0,
) -> None:
    """Write a generated H.264 scene and its ground truth OUT.truth.json."""
    from vigil.scene import SCENARIOS, generate_scene, truth_path

    if scenario not in SCENARIOS:
        typer.echo(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}", err=True)
        raise typer.Exit(2)
    from vigil.cli_status import progress_bar

    try:
        with progress_bar(f"writing {out_path.name}") as update:
            truth = generate_scene(
                out_path, seed=seed, scenario=scenario, duration_s=duration, progress=update
            )
    except (ValueError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {out_path} ({truth.duration_s:.0f} s) and {truth_path(out_path)}")
    for ev in truth.events:
        typer.echo(f"  {ev.event_type}: {ev.start_s:.1f}s - {ev.end_s:.1f}s")


@app.command()
def demo(
    config: Annotated[Path, typer.Option("-c", "--config", help="Demo config file.")] = Path(
        "configs/demo.yaml"
    ),
    seed: Annotated[int, typer.Option(help="Seed of the generated demo clip.")] = 0,
    reset: Annotated[
        bool,
        typer.Option(
            "--reset",
            help="Also reset data the demo did not create (only Vigil's database, journal "
            "and media files are deleted).",
        ),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show INFO logs.")] = False,
) -> None:
    """Run the demo: generated clip, embedded defaults, faster than real time."""
    from storage.paths import sqlite_file
    from vigil.cli_status import progress_bar
    from vigil.demo import DemoRefused, prepare_demo_storage
    from vigil.scene import generate_scene

    cfg = _load(config, check_paths=True)
    if not verbose:
        logging.getLogger().setLevel(logging.WARNING)
    db_url = cfg.storage.database_url
    try:
        prepare_demo_storage(cfg.storage, config_file=config, reset=reset)
    except DemoRefused as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    db_path = sqlite_file(cfg.storage)
    assert db_path is not None
    durations: dict[str, float] = {}
    for cam in cfg.cameras:
        clip = Path(cam.url)
        if clip.suffix == ".mp4" and _needs_generating(clip, seed):
            typer.echo(f"generating the demo clip {clip} (seed {seed}) ...")
            clip.parent.mkdir(parents=True, exist_ok=True)
            with progress_bar(f"writing {clip.name}") as update:
                truth = generate_scene(clip, seed=seed, progress=update)
            durations[cam.id] = truth.duration_s
        else:
            durations[cam.id] = _clip_duration(clip)

    app_obj = _start_app(cfg, pace=False)
    _install_signals(app_obj)
    done: dict[str, float] = {}
    with Progress(
        TextColumn("[bold]analysing[/bold] {task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(", ".join(durations), total=sum(durations.values()) or 1.0)

        def progress(_stats: Any) -> None:
            for cam_id, pts_s in app_obj.stream_positions().items():
                done[cam_id] = min(pts_s, durations.get(cam_id, pts_s))
            bar.update(task, completed=sum(done.values()))

        try:
            app_obj.run(progress=progress)
        finally:
            app_obj.stop()
    store = _open_store(cfg)
    try:
        records = store.list_incidents(limit=1000)
        typer.echo(f"\n{len(records)} incident(s)")
        for rec in sorted(records, key=lambda r: r.opened_ts_s):
            detail = store.get_incident(rec.incident_id)
            _print_detail(detail, cfg.tz)
    finally:
        store.close()
    typer.echo(f"database: {mask_url(db_url)} ({db_path.resolve()})")
    typer.echo(f"try: vigil incidents list -c {config}")


def _needs_generating(clip: Path, seed: int) -> bool:
    """A demo clip is (re)generated if missing, or if it is a generated one of another seed."""
    from vigil.scene import load_truth, truth_path

    if not clip.exists():
        return True
    if not truth_path(clip).exists():
        return False  # the user's own clip: used as it is
    try:
        return load_truth(clip).seed != seed
    except (OSError, ValueError, TypeError, KeyError):
        return True


def _clip_duration(path: Path) -> float:
    try:
        import av

        with av.open(str(path)) as c:
            if c.duration:
                return float(c.duration) / 1_000_000
    except Exception:
        return 0.0
    return 0.0


_AGO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_ID_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


def _parse_time(value: str | None, tz: zoneinfo.ZoneInfo, name: str) -> float | None:
    """An ISO 8601 time (the site's zone unless it has an offset), or an age: 30m, 1h, 2d."""
    if value is None:
        return None
    ago = _AGO.match(value)
    if ago:
        return time.time() - float(ago[1]) * _UNIT_S[ago[2].lower()]
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError:
        shown = value if len(value) <= 40 else value[:40] + "..."
        typer.echo(
            f"--{name}: {shown!r} is not an ISO 8601 date or time (e.g. 2026-11-25T14:00) "
            "nor an age (30m, 1h, 2d)",
            err=True,
        )
        raise typer.Exit(2) from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=tz)
    return t.timestamp()


@incidents_app.command("list")
def incidents_list(
    config: ConfigOpt,
    camera: Annotated[str | None, typer.Option(help="Only this camera id.")] = None,
    event_type: Annotated[
        str | None, typer.Option("--type", help="Only this event type (fall, fire, ...).")
    ] = None,
    status: Annotated[str | None, typer.Option(help="open, closed, acknowledged, ...")] = None,
    since: Annotated[str | None, typer.Option(help="Opened at or after (ISO 8601).")] = None,
    until: Annotated[str | None, typer.Option(help="Opened before (ISO 8601).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100000, help="At most this many.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array on stdout.")] = False,
) -> None:
    """List incidents, newest first."""
    from detectors.types import IncidentStatus
    from engines.types import EVENT_TYPES

    cfg = _load(config)
    tz = cfg.tz
    event_type = _choice(event_type, EVENT_TYPES, "type")
    status = _choice(status, [s.value for s in IncidentStatus], "status")
    from storage.records import IncidentFilter

    where = IncidentFilter(  # bad times are refused before the database is opened
        camera=camera,
        event_type=event_type,
        status=status,
        since_ts_s=_parse_time(since, tz, "since"),
        until_ts_s=_parse_time(until, tz, "until"),
    )
    store = _open_store(cfg)
    try:
        rows = store.list_incidents(where, limit=limit)
    finally:
        store.close()
    if as_json:
        sys.stdout.write(json.dumps([_record_json(r, tz) for r in rows], indent=2) + "\n")
        return
    cols = ("id", "type", "severity", "camera", "status", "opened", "duration", "peak", "zone")
    cells = [
        (
            r.incident_id if not out.is_terminal else r.incident_id[:12],
            r.event_type,
            r.severity.value if r.severity is not None else "",
            r.camera_id,
            r.status,
            _iso(r.opened_ts_s, tz),
            f"{r.duration_s:.1f}s",
            f"{r.peak_score:.2f}",
            r.zone or "",
        )
        for r in rows
    ]
    if not out.is_terminal:  # piped: whole values, one tab-separated line each
        sys.stdout.write("\t".join(cols) + "\n")
        for row in cells:
            sys.stdout.write("\t".join(row) + "\n")
        return
    table = Table(title=f"{len(rows)} incident(s)")
    for col in cols:
        table.add_column(col, no_wrap=col in ("id", "opened"))
    for row in cells:
        table.add_row(*row)
    out.print(table)


def _choice(value: str | None, known: Sequence[str], name: str) -> str | None:
    """``value`` lower-cased if it is one of ``known``; else a one-line error (exit 2)."""
    if value is None:
        return None
    low = value.strip().lower()
    if low not in known:
        shown = value if len(value) <= 40 else value[:40] + "..."
        typer.echo(f"--{name}: unknown value {shown!r}; one of {', '.join(known)}", err=True)
        raise typer.Exit(2)
    return low


def _record_json(r: Any, tz: zoneinfo.ZoneInfo) -> dict[str, Any]:
    return {
        "incident_id": r.incident_id,
        "event_type": r.event_type,
        "camera_id": r.camera_id,
        "status": r.status,
        "opened_at": _iso(r.opened_ts_s, tz),
        "closed_at": _iso(r.closed_ts_s, tz) if r.closed_ts_s is not None else None,
        "opened_ts_s": r.opened_ts_s,
        "closed_ts_s": r.closed_ts_s,
        "duration_s": round(r.duration_s, 3),
        "offset_s": round(r.offset_s, 3),
        "severity": r.severity.value if r.severity is not None else None,
        "peak_score": r.peak_score,
        "mean_score": r.mean_score,
        "zone": r.zone,
        "version": r.version,
    }


def _print_detail(d: Any, tz: zoneinfo.ZoneInfo) -> None:
    typer.echo(
        f"\n{d.incident.event_type.upper()} on {d.incident.camera_id} "
        f"- {d.incident.status}, opened {_iso(d.incident.opened_ts_s, tz)}, "
        f"closed {_iso(d.incident.closed_ts_s, tz)}, peak {d.incident.peak_score:.2f} "
        f"(id {d.incident.incident_id})"
    )
    rep = d.latest_report
    if rep is not None:
        typer.echo(f"  {rep.title}")
        typer.echo(f"  {rep.summary}")
        typer.echo(f"  severity {rep.severity}; recommended: {rep.action} [{rep.backend}]")
    for m in getattr(d, "media", []) or []:
        typer.echo(f"  media: {m.kind} {m.path}")


@incidents_app.command("show")
def incidents_show(
    incident_id: Annotated[str, typer.Argument(help="Incident id (or a unique prefix).")],
    config: ConfigOpt,
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
) -> None:
    """Show one incident with its timeline and reports."""
    from storage.errors import StorageError

    if not _ID_OK.match(incident_id):
        typer.echo(
            "error: an incident id is 1 to 128 letters, digits or . _ : - (see `vigil "
            "incidents list`)",
            err=True,
        )
        raise typer.Exit(2)
    cfg = _load(config)
    store = _open_store(cfg)
    try:
        try:
            full_id = store.resolve_incident_id(incident_id)
        except StorageError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        detail = store.get_incident(full_id) if full_id else None
    finally:
        store.close()
    if detail is None:
        typer.echo(f"no incident {incident_id!r}", err=True)
        raise typer.Exit(1)
    if as_json:
        data = _record_json(detail.incident, cfg.tz)
        data["timeline"] = [
            {"version": u.version, "kind": u.kind, "ts": _iso(u.ts_s, cfg.tz), "score": u.score}
            for u in detail.updates
        ]
        data["reports"] = [
            {
                "title": r.title,
                "summary": r.summary,
                "severity": r.severity,
                "action": r.action,
                "backend": r.backend,
                "fallback_used": r.fallback_used,
                "fallback_reason": r.fallback_reason,
            }
            for r in detail.reports
        ]
        media_root = Path(cfg.storage.media_dir).resolve()
        data["media"] = [
            {
                "kind": m.kind,
                "path": str(media_root / m.path),
                "content_type": m.content_type,
                "bytes": m.bytes,
            }
            for m in detail.media
        ]
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    _print_detail(detail, cfg.tz)
    typer.echo("  timeline:")
    for u in detail.updates:
        typer.echo(f"    v{u.version} {u.kind:<6} {_iso(u.ts_s, cfg.tz)} score {u.score:.2f}")


def main() -> None:
    """Entry point of the ``vigil`` console script."""
    app()


if __name__ == "__main__":
    main()
