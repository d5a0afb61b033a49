"""``vigil calibrate``: per-camera thresholds proposed from the operators' dispositions.

Reads every resolved incident marked ``true_alarm`` or ``false_alarm`` (with its peak score)
from the database, proposes per camera and event type the threshold that removes the false
alarms and keeps every true alarm (:mod:`vigil.evaluation.calibration`), and prints the
current and proposed thresholds with the false alarms per camera-hour before and after.
``--apply`` writes the proposal as a YAML snippet to merge into the config; the config file
itself is never edited.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vigil.cli_common import load_or_exit
from vigil.config import VigilConfig, parse_config

if TYPE_CHECKING:
    from storage.repo_calibration import DispositionRecord
    from vigil.evaluation.calibration import Proposal

_HEAD = (
    "camera", "event", "FA", "TA", "current", "proposed", "cam h", "FA/h before", "FA/h after",
    "why",
)  # fmt: skip


def _config(config: Path | None, db_url: str | None) -> VigilConfig:
    """The config's settings (its database unless ``db_url``), or the defaults on ``db_url``."""
    if config is None and db_url is None:
        typer.echo("error: give -c CONFIG or --db-url URL (or set VIGIL_CONFIG)", err=True)
        raise typer.Exit(2)
    cfg = load_or_exit(config) if config is not None else parse_config("{}\n", env={})
    if db_url is not None:
        storage = cfg.storage.model_copy(update={"database_url": db_url})
        cfg = cfg.model_copy(update={"storage": storage})
    return cfg


def _read(cfg: VigilConfig, since_ts_s: float | None) -> tuple[list[Any], dict[str, float]]:
    """The dispositions and camera-hours, or print why the database cannot be read, exit 1."""
    from storage.errors import StorageError
    from storage.operator_store import OperatorStore
    from vigil.cli_common import open_store_or_exit

    store = open_store_or_exit(cfg)
    try:
        return OperatorStore(store).calibration_data(since_ts_s=since_ts_s)
    except StorageError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        store.close()


def _current(cfg: VigilConfig) -> Any:
    """``current(camera, event)``: the configured threshold, else the event type's default."""
    from detectors.settings import EventConfig

    rules = {cam.id: cam.events for cam in cfg.cameras}

    def current(camera: str, event_type: str) -> float:
        rule = rules.get(camera, {}).get(event_type, EventConfig())
        return rule.resolved(event_type).threshold

    return current


def _fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _row(p: Proposal, hours: float | None) -> list[str]:
    from vigil.evaluation.calibration import per_hour

    return [
        p.camera_id, p.event_type, str(len(p.false_alarms)), str(len(p.true_alarms)),
        f"{p.current:.3f}", f"{p.proposed:.3f}" + ("" if p.changed else " ="), _fmt(hours, 1),
        _fmt(per_hour(len(p.false_alarms), hours)), _fmt(per_hour(p.false_alarms_left, hours)),
        p.reason,
    ]  # fmt: skip


def table(proposals: list[Proposal], hours: dict[str, float]) -> str:
    """The proposals as a fixed-width table (``=``: unchanged)."""
    rows = [list(_HEAD)] + [_row(p, hours.get(p.camera_id)) for p in proposals]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HEAD))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def _as_json(proposals: list[Proposal], hours: dict[str, float]) -> str:
    from vigil.evaluation.calibration import per_hour

    out = []
    for p in proposals:
        h = hours.get(p.camera_id)
        out.append(
            {
                "camera": p.camera_id, "event_type": p.event_type, "current": p.current,
                "proposed": p.proposed, "changed": p.changed,
                "false_alarms": len(p.false_alarms), "true_alarms": len(p.true_alarms),
                "false_alarms_left": p.false_alarms_left, "true_alarms_lost": p.true_alarms_lost,
                "camera_hours": h, "false_alarms_per_hour_before": per_hour(len(p.false_alarms), h),
                "false_alarms_per_hour_after": per_hour(p.false_alarms_left, h), "why": p.reason,
            }
        )  # fmt: skip
    return json.dumps({"proposals": out}, indent=1)


def _since(value: str | None, tz: zoneinfo.ZoneInfo) -> float | None:
    from vigil.cli_incidents import _parse_time

    return _parse_time(value, tz, "since")


def _write(out: Path, config: Path | None, proposals: list[Proposal], n: int) -> None:
    from vigil.evaluation.calibration import Snippet

    if config is not None and out.resolve() == config.resolve():
        typer.echo(f"error: --out {out} is the config file; calibrate never edits it", err=True)
        raise typer.Exit(2)
    snippet = Snippet.of(proposals)
    if not snippet.cameras:
        typer.echo("no threshold to change: nothing written")
        return
    when = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    header = (
        f"Proposed by `vigil calibrate` at {when} from {n} operator disposition(s).\n"
        "Merge each camera's events into that camera of your config (or pass this file to\n"
        "`vigil eval --thresholds`); it changes nothing by itself."
    )
    out.write_text(snippet.as_yaml(header), encoding="utf-8")
    typer.echo(f"wrote {out} ({sum(len(e) for e in snippet.cameras.values())} threshold(s))")


def calibrate(
    config: Annotated[
        Path | None,
        typer.Option("-c", "--config", envvar="VIGIL_CONFIG", help="Config: database, rules."),
    ] = None,
    db_url: Annotated[
        str | None, typer.Option("--db-url", help="Read this database instead of the config's.")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only incidents opened since (ISO time or 30d, 12h).")
    ] = None,
    floor: Annotated[float, typer.Option(min=0.0, max=1.0, help="Lowest threshold.")] = 0.5,
    ceiling: Annotated[float, typer.Option(min=0.0, max=1.0, help="Highest threshold.")] = 0.95,
    min_dispositions: Annotated[
        int, typer.Option(min=1, help="Dispositions a camera's event type needs.")
    ] = 5,
    apply: Annotated[
        bool, typer.Option("--apply", help="Write the proposal as a YAML snippet (--out).")
    ] = False,
    out: Annotated[Path, typer.Option(help="Where --apply writes.")] = Path(
        "thresholds.calibrated.yaml"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Propose per-camera thresholds from true/false alarm dispositions (FA/h before, after)."""
    from vigil.evaluation.calibration import Bounds, propose

    if floor > ceiling:
        typer.echo(f"error: --floor {floor} is above --ceiling {ceiling}", err=True)
        raise typer.Exit(2)
    cfg = _config(config, db_url)
    rows, hours = _read(cfg, _since(since, cfg.tz))
    items = [_disposed(r) for r in rows]
    bounds = Bounds(floor=floor, ceiling=ceiling, min_dispositions=min_dispositions)
    proposals = propose(items, _current(cfg), bounds)
    if as_json:
        typer.echo(_as_json(proposals, hours))
    elif not proposals:
        typer.echo("no incident is dispositioned as a true or false alarm yet")
    else:
        typer.echo(f"{len(items)} disposition(s); FA/h over the dispositioned false alarms")
        typer.echo(table(proposals, hours))
    if apply:
        _write(out, config, proposals, len(items))


def _disposed(r: DispositionRecord) -> Any:
    from vigil.evaluation.calibration import Disposed

    return Disposed(r.camera_id, r.event_type, r.peak_score, r.disposition, r.incident_id)
