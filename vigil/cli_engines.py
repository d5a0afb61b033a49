"""``vigil engines``: export the clip profile's graphs and build runtime engines ahead of time."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from engines.settings import ClipConfig
from vigil.cli_common import ConfigOpt
from vigil.cli_common import load_or_exit as _load
from vigil.cli_status import progress_bar
from vigil.config import VigilConfig

app = typer.Typer(
    help="Model runtimes of the clip profile: ONNX export, TensorRT/ONNX Runtime engines.",
    no_args_is_help=True,
)


DownloadOpt = Annotated[
    bool,
    typer.Option(
        "--download",
        help="Fetch a hub id's files if they are not in the local hub cache (this run only; "
        "refused when HF_HUB_OFFLINE=1).",
    ),
]


def _clip_config(cfg: VigilConfig, download: bool) -> ClipConfig:
    """model.clip, with downloads allowed for this command when ``--download`` was given."""
    clip = cfg.model.clip
    if download and clip.local_files_only:
        clip = clip.model_copy(update={"local_files_only": False})
    if download and clip.offline:
        typer.echo("note: HF_HUB_OFFLINE is set, so --download cannot fetch anything", err=True)
    return clip


def _require_clip(cfg: VigilConfig, path: Path) -> None:
    """The weight-free cues profile has nothing to export or build: say so at once."""
    if cfg.model.profile != "clip":
        typer.echo(
            f"error: {path}: model.profile is {cfg.model.profile!r}, which has no model to "
            "export or build; set model.profile: clip and model.clip.visual (a local folder "
            "or a hub id) first",
            err=True,
        )
        raise typer.Exit(2)


@app.command("export")
def export(
    config: ConfigOpt,
    out: Annotated[Path, typer.Option("--out", help="Folder to write the graphs into.")],
    int8: Annotated[
        bool, typer.Option("--int8", help="Also write visual.int8.onnx and its cosine to fp32.")
    ] = False,
    download: DownloadOpt = False,
) -> None:
    """Write visual.onnx and temporal.onnx (dynamic batch) for model.clip, run the ONNX
    checker, and print their largest difference from torch on a check set."""
    from engines.clip.exporter import PARITY_ATOL, export_bundle
    from engines.errors import EngineError

    cfg = _load(config)
    _require_clip(cfg, config)
    try:
        with progress_bar("exporting and checking the graphs"):
            rep = export_bundle(_clip_config(cfg, download), out, int8=int8)
    except EngineError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {rep.visual_path} (ONNX checker: OK)")
    typer.echo(f"wrote {rep.temporal_path} (ONNX checker: OK)")
    typer.echo(
        f"visual   max |onnxruntime - torch| = {rep.visual_max_diff:.3g} (bound {PARITY_ATOL:g})"
    )
    if rep.visual_top_event_match is not None:
        same = "same" if rep.visual_top_event_match else "DIFFERENT"
        typer.echo(f"visual   zero-shot top event per check image: {same}")
    typer.echo(
        f"temporal max |onnxruntime - torch| = {rep.temporal_max_diff:.3g}; top event: "
        f"{'same' if rep.temporal_top_event_match else 'DIFFERENT'}"
    )
    if rep.int8_path is not None:
        typer.echo(
            f"wrote {rep.int8_path}: embedding cosine to fp32 min {rep.int8_min_cosine:.5f} "
            f"mean {rep.int8_mean_cosine:.5f} (accepted at >= {cfg.model.clip.int8_min_cosine})"
        )
    for note in rep.notes:
        typer.echo(f"note: {note}")
    if not rep.ok:
        typer.echo("error: exported graphs do not match torch", err=True)
        raise typer.Exit(1)
    typer.echo(f"use them with model.clip.onnx_dir: {out}")


@app.command("build")
def build(config: ConfigOpt, download: DownloadOpt = False) -> None:
    """Prepare the configured backend now (export, int8 check, TensorRT engine plans in
    model.clip.cache_dir) so that `vigil run` starts without building."""
    from engines.clip.exporter import build_ahead
    from engines.errors import EngineError

    cfg = _load(config)
    _require_clip(cfg, config)
    try:
        with progress_bar("building the engines"):
            rep = build_ahead(_clip_config(cfg, download))
    except EngineError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"backend {rep.backend} ({rep.why})")
    for line in rep.lines:
        typer.echo(f"  {line}")
