"""``vigil db``: database migrations, schema state, outbox backlog, media retention and the
embeddings of history search."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from alembic.util.exc import CommandError

from storage.db import (
    SchemaState,
    current_revision,
    head_revision,
    make_engine,
    mask_db_url,
    schema_state,
    upgrade,
)
from storage.errors import StorageError
from storage.media import MediaStore
from storage.search import Embedder, MiniLMEmbedder
from vigil.cli_common import ConfigOpt as ConfigOption
from vigil.cli_common import load_or_exit as _load
from vigil.cli_common import open_store_or_exit as _open_store

app = typer.Typer(help="Database schema, outbox and media retention.", no_args_is_help=True)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@app.command("upgrade")
def upgrade_cmd(
    config: ConfigOption,
    revision: Annotated[str, typer.Option(help="Target migration.")] = "head",
) -> None:
    """Create the schema or bring it up to date (back up the database first)."""
    cfg = _load(config)
    masked = mask_db_url(cfg.storage.database_url)
    try:
        engine = make_engine(cfg.storage)
        try:
            before, after = upgrade(engine, revision)
        finally:
            engine.dispose()
    except StorageError as exc:
        raise _fail(str(exc)) from None
    except CommandError as exc:
        raise _fail(
            f"database {masked}: {exc} (was it written by a newer Vigil? this one knows up to "
            f"{head_revision()})"
        ) from None
    except Exception as exc:
        raise _fail(f"database {masked}: upgrade failed: {exc}") from None
    if before == after:
        typer.echo(f"database {masked} is already at {after}")
    else:
        typer.echo(f"database {masked} upgraded from {before or 'empty'} to {after}")


@app.command("current")
def current_cmd(config: ConfigOption) -> None:
    """Show the schema revision of the database and the one this Vigil needs.

    Exits 0 when they match, 3 when ``vigil db upgrade`` is needed.
    """
    cfg = _load(config)
    masked = mask_db_url(cfg.storage.database_url)
    try:
        engine = make_engine(cfg.storage)
        try:
            state = schema_state(engine)
            rev = current_revision(engine)
        finally:
            engine.dispose()
    except StorageError as exc:
        raise _fail(str(exc)) from None
    except Exception as exc:
        raise _fail(f"database {masked}: {exc}") from None
    typer.echo(f"database: {masked}")
    typer.echo(f"revision: {rev or '(none)'}")
    typer.echo(f"needed:   {head_revision()}")
    typer.echo(f"state:    {state.value}")
    if state is not SchemaState.CURRENT:
        typer.echo(f"run: vigil db upgrade -c {config}", err=True)
        raise typer.Exit(3)


@app.command("outbox")
def outbox_cmd(config: ConfigOption) -> None:
    """Show how many messages wait in the outbox for the broker."""
    cfg = _load(config)
    store = _open_store(cfg)
    try:
        backlog = store.outbox_backlog()
        oldest = store.pending_outbox(limit=1)
    except StorageError as exc:
        raise _fail(str(exc)) from None
    finally:
        store.close()
    typer.echo(f"pending messages: {backlog}")
    if oldest:
        typer.echo(
            f"oldest pending: incident {oldest[0].incident_id} version {oldest[0].version} "
            f"({oldest[0].attempts} failed attempts)"
        )


@app.command("sweep")
def sweep_cmd(config: ConfigOption) -> None:
    """Apply media retention now (age and size; never an open incident's media)."""
    cfg = _load(config)
    store = _open_store(cfg)
    try:
        started = time.monotonic()
        result = MediaStore(cfg.storage).sweep(store)
    except StorageError as exc:
        raise _fail(str(exc)) from None
    finally:
        store.close()
    for ref in result.deleted:
        typer.echo(f"deleted {ref.path} ({ref.bytes} bytes, incident {ref.incident_id})")
    typer.echo(
        f"deleted {result.deleted_count} files ({result.deleted_bytes} bytes) and "
        f"{result.orphans_deleted} orphans in {time.monotonic() - started:.1f} s; "
        f"{result.remaining_bytes} bytes remain; {result.kept_open} kept for open incidents"
    )


def default_embedder() -> Embedder:
    """The embedder of semantic search: all-MiniLM-L6-v2, shipped as a package (offline)."""
    return MiniLMEmbedder()


@app.command("backfill-embeddings")
def backfill_embeddings_cmd(
    config: ConfigOption,
    batch_size: Annotated[int, typer.Option(min=1, help="Reports embedded per batch.")] = 64,
) -> None:
    """Embed every report that has no embedding yet (semantic history search)."""
    cfg = _load(config)
    store = _open_store(cfg)
    try:
        embedder = default_embedder()
        started = time.monotonic()
        count = store.backfill_embeddings(embedder, batch_size=batch_size)
    except StorageError as exc:
        raise _fail(str(exc)) from None
    except RuntimeError as exc:  # the search extra is missing
        raise _fail(str(exc)) from None
    finally:
        store.close()
    typer.echo(
        f"embedded {count} reports with {embedder.name} in {time.monotonic() - started:.1f} s"
    )
