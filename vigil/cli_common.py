"""Pieces shared by the CLI's command groups."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vigil.config import ConfigError, VigilConfig, load_config
from vigil.logs import setup_logging

if TYPE_CHECKING:
    from storage.store import Store

#: The ``-c/--config FILE`` option every command that reads the database takes.
ConfigOpt = Annotated[
    Path,
    typer.Option(
        "-c", "--config", envvar="VIGIL_CONFIG", help="Config file (YAML); default $VIGIL_CONFIG."
    ),
]


def load_or_exit(path: Path, *, check_paths: bool = False) -> VigilConfig:
    """Load a config and set up logging, or print every problem and exit 2.

    ``check_paths``: also refuse unsafe storage folders (commands that write or delete).
    """
    try:
        cfg = load_config(path, check_paths=check_paths)
    except ConfigError as exc:
        for issue in exc.issues:
            typer.echo(str(issue), err=True)
        raise typer.Exit(2) from None
    setup_logging(cfg.logging.level, json_lines=cfg.logging.json_lines, tz=cfg.tz)
    return cfg


def open_store_or_exit(cfg: VigilConfig) -> Store:
    """Open the configured database (schema must be current), or print why and exit 1."""
    from storage.errors import StorageError
    from storage.store import Store

    try:
        return Store.open(cfg.storage, create_if_empty=False)
    except StorageError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
