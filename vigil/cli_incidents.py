"""``vigil incidents``: list incidents and show one with its timeline and reports."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import time
import zoneinfo
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from vigil.cli_common import ConfigOpt
from vigil.cli_common import load_or_exit as _load
from vigil.cli_common import open_store_or_exit as _open_store
from vigil.config import VigilConfig

app = typer.Typer(help="Query incident history.", no_args_is_help=True)

out = Console()

_AGO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_ID_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_COLUMNS = ("id", "type", "severity", "camera", "status", "opened", "duration", "peak", "zone")


def _iso(ts_s: float | None, tz: zoneinfo.ZoneInfo) -> str:
    if ts_s is None:
        return "-"
    return dt.datetime.fromtimestamp(ts_s, tz).isoformat(timespec="seconds")


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


def _list_cells(rows: Sequence[Any], tz: zoneinfo.ZoneInfo) -> list[tuple[str, ...]]:
    """The table cells of incident rows (ids shortened on a terminal)."""
    return [
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


def _print_rows(rows: Sequence[Any], tz: zoneinfo.ZoneInfo) -> None:
    """A table on a terminal; piped: whole values, one tab-separated line each."""
    cells = _list_cells(rows, tz)
    if not out.is_terminal:
        sys.stdout.write("\t".join(_COLUMNS) + "\n")
        for row in cells:
            sys.stdout.write("\t".join(row) + "\n")
        return
    table = Table(title=f"{len(rows)} incident(s)")
    for col in _COLUMNS:
        table.add_column(col, no_wrap=col in ("id", "opened"))
    for row in cells:
        table.add_row(*row)
    out.print(table)


@app.command("list")
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
    _print_rows(rows, tz)


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


def print_detail(d: Any, tz: zoneinfo.ZoneInfo) -> None:
    """Print an incident's heading, its latest report and its media."""
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


def _find_detail(cfg: VigilConfig, incident_id: str) -> Any:
    """The incident with this id or unique prefix (None if none), or exit 1 on a store error."""
    from storage.errors import StorageError

    store = _open_store(cfg)
    try:
        try:
            full_id = store.resolve_incident_id(incident_id)
        except StorageError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        return store.get_incident(full_id) if full_id else None
    finally:
        store.close()


def _detail_json(detail: Any, cfg: VigilConfig) -> dict[str, Any]:
    """An incident with its timeline, reports and media as JSON data."""
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
    return data


@app.command("show")
def incidents_show(
    incident_id: Annotated[str, typer.Argument(help="Incident id (or a unique prefix).")],
    config: ConfigOpt,
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
) -> None:
    """Show one incident with its timeline and reports."""
    if not _ID_OK.match(incident_id):
        typer.echo(
            "error: an incident id is 1 to 128 letters, digits or . _ : - (see `vigil "
            "incidents list`)",
            err=True,
        )
        raise typer.Exit(2)
    cfg = _load(config)
    detail = _find_detail(cfg, incident_id)
    if detail is None:
        typer.echo(f"no incident {incident_id!r}", err=True)
        raise typer.Exit(1)
    if as_json:
        sys.stdout.write(json.dumps(_detail_json(detail, cfg), indent=2) + "\n")
        return
    print_detail(detail, cfg.tz)
    typer.echo("  timeline:")
    for u in detail.updates:
        typer.echo(f"    v{u.version} {u.kind:<6} {_iso(u.ts_s, cfg.tz)} score {u.score:.2f}")
