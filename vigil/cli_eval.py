"""``vigil eval DIR``: run a profile over a labelled set of clips and score it per event type."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vigil.cli_common import load_or_exit
from vigil.config import CameraConfig, VigilConfig, parse_config
from vigil.logs import setup_logging

if TYPE_CHECKING:
    from detectors.settings import EventConfig
    from vigil.evaluation.datasets import Dataset
    from vigil.evaluation.report import Evaluation
    from vigil.evaluation.types import ClipResult, LabelledClip

log = logging.getLogger(__name__)


def _config(path: Path | None) -> VigilConfig:
    """The config file's settings, or the defaults with the ``cues`` profile."""
    if path is not None:
        return load_or_exit(path)
    cfg = parse_config("model:\n  profile: cues\n", env={})
    setup_logging(cfg.logging.level, json_lines=cfg.logging.json_lines, tz=cfg.tz)
    return cfg


def _rules(
    cfg: VigilConfig, camera: str | None, labelled: set[str]
) -> tuple[dict[str, EventConfig], float | None]:
    """The event rules (and fps) of the chosen camera (its zones apply too), else default rules
    for a default camera's events and the labelled event types the profile detects."""
    from detectors.settings import EventConfig
    from vigil.config_checks import DEFAULT_CAMERA_EVENTS

    if camera is not None or cfg.cameras:
        cam = _camera(cfg, camera)
        rules = {ev: rule for ev, rule in cam.events.items() if rule.enabled}
        return rules, cam.fps
    detects = cfg.model.detectable_events() or DEFAULT_CAMERA_EVENTS
    wanted = [ev for ev in detects if ev in DEFAULT_CAMERA_EVENTS or ev in labelled]
    return {ev: EventConfig() for ev in wanted}, None


def _camera(cfg: VigilConfig, camera: str | None) -> CameraConfig:
    """The chosen camera (default: the first), or print that there is none and exit 2."""
    try:
        return cfg.camera(camera) if camera is not None else cfg.cameras[0]
    except KeyError:
        typer.echo(f"error: no camera {camera!r} in the config", err=True)
        raise typer.Exit(2) from None


def _event_types(rules: dict[str, EventConfig], clips: list[LabelledClip]) -> list[str]:
    types = list(rules)
    for clip in clips:
        for ev in clip.events:
            if ev.event_type not in types:
                typer.echo(f"warning: {ev.event_type} is labelled but not detected", err=True)
                types.append(ev.event_type)
    return types


def _progress(total: int) -> Callable[[ClipResult], None]:
    done = [0]

    def show(res: ClipResult) -> None:
        done[0] += 1
        what = res.error or f"{len(res.incidents)} incident(s)"
        typer.echo(f"[{done[0]}/{total}] {res.clip.name}: {what} ({res.wall_s:.1f} s)", err=True)

    return show


def eval_command(
    folder: Annotated[
        Path, typer.Argument(metavar="DIR", help="Folder of labelled clips.", exists=True)
    ],
    config: Annotated[
        Path | None,
        typer.Option("-c", "--config", help="Use this config's model, camera rules and zones."),
    ] = None,
    camera: Annotated[
        str | None, typer.Option(help="Whose event rules and fps (default: the first camera).")
    ] = None,
    layout: Annotated[
        str,
        typer.Option(
            help="auto, truth-json, class-folders, urfall, le2i, caucafall, mivia, firenet."
        ),
    ] = "auto",
    jobs: Annotated[
        int | None, typer.Option(help="Clips at once (default min(cpu, 4)).", min=1)
    ] = None,
    fps: Annotated[
        float | None, typer.Option(help="Frames sampled per second.", min=1, max=5)
    ] = None,
    fast: Annotated[
        bool, typer.Option("--fast/--realtime", help="As fast as decoding allows, or paced.")
    ] = True,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the JSON document (key=value line on stderr).")
    ] = False,
    out: Annotated[
        Path | None, typer.Option(help="Write report.md, report.json and plots/ here.")
    ] = None,
) -> None:
    """Run a profile over labelled clips: precision, recall, F1, latency, coverage, false alarms."""
    from vigil.evaluation.report import Evaluation
    from vigil.evaluation.runner import RunSettings, default_jobs, run_all

    cfg = _config(config)
    logging.getLogger().setLevel(logging.WARNING)  # App's start/stop lines, once per clip
    data = _read(folder, layout)
    labelled = {ev.event_type for clip in data.clips for ev in clip.events}
    rules, cam_fps = _rules(cfg, camera, labelled)
    zones = _camera(cfg, camera).zones if camera is not None or cfg.cameras else []
    settings = RunSettings(cfg, rules, fps or cam_fps or 2.0, pace=not fast, zones=zones)
    n_jobs = jobs or default_jobs()
    started = time.perf_counter()
    results = run_all(data.clips, settings, jobs=n_jobs, on_done=_progress(len(data.clips)))
    ev = Evaluation(
        folder, data.layout, cfg.model.profile, n_jobs, _event_types(rules, data.clips),
        results, wall_s=time.perf_counter() - started, skipped=data.skipped,
    )  # fmt: skip
    _emit(ev, out, as_json=as_json)
    if all(r.error for r in results):
        raise typer.Exit(1)


def _read(folder: Path, layout: str) -> Dataset:
    """The labelled clips under ``folder``, or print why there are none and exit 2."""
    from vigil.evaluation.datasets import read_dataset

    try:
        data = read_dataset(folder, layout)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if not data.clips:
        typer.echo(f"error: {folder}: no labelled clip found ({layout} layout)", err=True)
        for line in data.skipped[:10]:
            typer.echo(f"  {line}", err=True)
        raise typer.Exit(2)
    return data


def _emit(ev: Evaluation, out: Path | None, *, as_json: bool) -> None:
    """Write the report under ``out``; print the table (or JSON) and the key=value line."""
    from vigil.evaluation.report import clip_lines, key_values, table, to_json, write_report

    if out is not None:
        write_report(ev, out)
        (out / "report.json").write_text(json.dumps(to_json(ev), indent=1) + "\n", "utf-8")
    if as_json:
        typer.echo(json.dumps(to_json(ev), indent=1))
        typer.echo(key_values(ev), err=True)
        return
    typer.echo(table(ev.metrics))
    typer.echo("")
    for line in clip_lines(ev):
        typer.echo(line)
    if out is not None:
        typer.echo(f"report: {out / 'report.md'}")
    typer.echo(key_values(ev))
