"""``vigil eval DIR``: run a profile over a labelled set of clips and score it per event type."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
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
    from vigil.evaluation.runner import RunSettings
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


def _event_types(rules: Mapping[str, EventConfig], clips: list[LabelledClip]) -> list[str]:
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
    thresholds: Annotated[
        Path | None,
        typer.Option(
            exists=True, help="Run again with these thresholds (`vigil calibrate --apply`): FA/h."
        ),
    ] = None,
) -> None:
    """Run a profile over labelled clips: precision, recall, F1, latency, coverage, false alarms."""
    from vigil.evaluation.report import Evaluation
    from vigil.evaluation.runner import default_jobs, run_all

    cfg = _config(config)
    logging.getLogger().setLevel(logging.WARNING)  # App's start/stop lines, once per clip
    data = _read(folder, layout)
    settings = _settings(cfg, camera, data, fps, pace=not fast)
    n_jobs = jobs or default_jobs()
    started = time.perf_counter()
    results = run_all(data.clips, settings, jobs=n_jobs, on_done=_progress(len(data.clips)))
    ev = Evaluation(
        folder, data.layout, cfg.model.profile, n_jobs, _event_types(settings.rules, data.clips),
        results, wall_s=time.perf_counter() - started, skipped=data.skipped,
    )  # fmt: skip
    after = _calibrated(thresholds, cfg, camera, ev, settings, data)
    _emit(ev, out, as_json=as_json, after=after)
    if all(r.error for r in results):
        raise typer.Exit(1)


def _settings(
    cfg: VigilConfig, camera: str | None, data: Dataset, fps: float | None, *, pace: bool
) -> RunSettings:
    """The run's settings: the camera's (or default) rules for the labelled types, fps, zones."""
    from vigil.evaluation.runner import RunSettings as Settings

    labelled = {ev.event_type for clip in data.clips for ev in clip.events}
    rules, cam_fps = _rules(cfg, camera, labelled)
    zones = _camera(cfg, camera).zones if camera is not None or cfg.cameras else []
    return Settings(cfg, rules, fps or cam_fps or 2.0, pace=pace, zones=zones)


def _threshold_rules(
    path: Path, cfg: VigilConfig, camera: str | None, rules: Mapping[str, EventConfig]
) -> dict[str, EventConfig]:
    """``rules`` with the thresholds a snippet gives the camera, or print why not and exit 2."""
    from vigil.evaluation.calibration import camera_thresholds, read_thresholds

    try:
        table = read_thresholds(path)
        if camera is None and cfg.cameras and cfg.cameras[0].id in table:
            camera = cfg.cameras[0].id
        chosen = camera_thresholds(table, camera)
    except ValueError as exc:
        typer.echo(f"error: --thresholds: {exc}", err=True)
        raise typer.Exit(2) from None
    for ev in set(chosen) - set(rules):
        typer.echo(f"warning: --thresholds: {ev} is not evaluated", err=True)
    return {
        ev: rule.model_copy(update={"threshold": chosen[ev]}) if ev in chosen else rule
        for ev, rule in rules.items()
    }


def _calibrated(
    thresholds: Path | None,
    cfg: VigilConfig,
    camera: str | None,
    before: Evaluation,
    settings: RunSettings,
    data: Dataset,
) -> Evaluation | None:
    """The same clips run again with the ``--thresholds`` (None without them)."""
    from dataclasses import replace

    from vigil.evaluation.report import Evaluation
    from vigil.evaluation.runner import run_all

    if thresholds is None:
        return None
    rules = _threshold_rules(thresholds, cfg, camera, settings.rules)
    started = time.perf_counter()
    typer.echo("again with the --thresholds:", err=True)
    results = run_all(
        data.clips, replace(settings, rules=rules), jobs=before.jobs,
        on_done=_progress(len(data.clips)),
    )  # fmt: skip
    return Evaluation(
        before.root, before.layout, before.profile, before.jobs, before.event_types, results,
        wall_s=time.perf_counter() - started, skipped=before.skipped,
    )  # fmt: skip


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


def _emit(
    ev: Evaluation, out: Path | None, *, as_json: bool, after: Evaluation | None = None
) -> None:
    """Write the report under ``out``; print the table (or JSON) and the key=value line;
    with ``after`` (the ``--thresholds`` run) also the before/after comparison."""
    from vigil.evaluation import report as rp

    if out is not None:
        rp.write_report(ev, out)  # before the JSON: it fills in the plots' paths
    doc = rp.to_json(ev)
    if after is not None:
        doc["calibrated"] = rp.to_json(after)
    if out is not None:
        (out / "report.json").write_text(json.dumps(doc, indent=1) + "\n", "utf-8")
    if as_json:
        typer.echo(json.dumps(doc, indent=1))
        typer.echo(rp.key_values(ev), err=True)
        return
    typer.echo(rp.table(ev.metrics))
    typer.echo("")
    if after is not None:
        typer.echo(rp.comparison(ev, after))
        typer.echo("")
    for line in rp.clip_lines(ev):
        typer.echo(line)
    if out is not None:
        typer.echo(f"report: {out / 'report.md'}")
    typer.echo(rp.key_values(ev))
