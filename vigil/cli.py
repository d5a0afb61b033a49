"""The ``vigil`` command line."""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from streamer.masking import mask_url
from vigil import __version__
from vigil.cli_calibrate import calibrate
from vigil.cli_demo import _needs_generating, demo
from vigil.cli_eval import eval_command
from vigil.cli_incidents import app as incidents_app
from vigil.cli_run import run
from vigil.cli_serve import serve
from vigil.cli_users import tokens_app, users_app
from vigil.config import ConfigError, load_config

__all__ = ["_needs_generating", "app", "main"]

app = typer.Typer(
    name="vigil",
    help="Vigil: real-time video monitoring. Cameras in, incidents and reports out.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Check configuration files.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(incidents_app, name="incidents")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")

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


app.command()(run)
app.command()(serve)
app.command()(calibrate)


@app.command("sample-clip")
def sample_clip(
    out_path: Annotated[Path, typer.Argument(metavar="OUT.mp4", help="Where to write the clip.")],
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same clip).")] = 0,
    scenario: Annotated[
        str,
        typer.Option(
            help="demo (a fall and a fire among ordinary activity), walking, or a hard negative "
            "(pan, zoom, shake, exposure, headlights, edges, sit, bench, orange, reflections, "
            "flashing: no events, 10 fps)."
        ),
    ] = "demo",
    duration: Annotated[float, typer.Option(help="Length in seconds.", min=10)] = 60.0,
) -> None:
    """Write a generated H.264 scene and its ground truth OUT.truth.json."""
    from vigil.scene import SCENARIOS, generate_scene, truth_path
    from vigil.scene_hard import HARD_SCENARIOS, generate_hard_scene

    if scenario not in SCENARIOS + HARD_SCENARIOS:
        names = ", ".join(SCENARIOS + HARD_SCENARIOS)
        typer.echo(f"unknown scenario {scenario!r}; choose one of {names}", err=True)
        raise typer.Exit(2)
    generate = generate_hard_scene if scenario in HARD_SCENARIOS else generate_scene
    from vigil.cli_status import progress_bar

    try:
        with progress_bar(f"writing {out_path.name}") as update:
            truth = generate(
                out_path, seed=seed, scenario=scenario, duration_s=duration, progress=update
            )
    except (ValueError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {out_path} ({truth.duration_s:.0f} s) and {truth_path(out_path)}")
    for ev in truth.events:
        typer.echo(f"  {ev.event_type}: {ev.start_s:.1f}s - {ev.end_s:.1f}s")


app.command()(demo)
app.command("eval")(eval_command)


def main() -> None:
    """Entry point of the ``vigil`` console script."""
    app()


if __name__ == "__main__":
    main()
