"""Engines for SQLite and PostgreSQL, URL masking, and Alembic migrations run from code."""

from __future__ import annotations

import enum
import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from storage.errors import SchemaOutOfDate, StorageError
from storage.extras import require
from storage.models import Base
from storage.settings import StorageConfig
from streamer.masking import mask_text, mask_url

log = logging.getLogger(__name__)

#: Where the migration scripts live (package data of the ``vigil`` distribution).
MIGRATIONS = "storage:migrations"

#: The command users run to bring a database up to date.
UPGRADE_HINT = "vigil db upgrade -c FILE"


#: Execution option that marks read-only work (SQLite then takes no write lock).
READ_ONLY = "vigil_read_only"


def mask_db_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (by structure: ``streamer.masking``)."""
    return mask_url(url)


def make_engine(config: StorageConfig) -> Engine:
    """Create the engine for ``config.database_url``.

    SQLite: WAL journal, foreign keys on, busy timeout, writers start with ``BEGIN IMMEDIATE``
    (no lock-upgrade deadlocks between processes); the database file's folder is created.
    PostgreSQL: a pre-pinged pool with a connect timeout. Raises ``StorageError`` naming the
    URL (password masked) when the URL is wrong or its driver is missing.
    """
    masked = mask_db_url(config.database_url)
    url = _parsed_url(config.database_url, masked)
    backend = url.get_backend_name()
    if backend == "sqlite":
        kwargs = _sqlite_kwargs(url, masked)
    elif backend == "postgresql":
        kwargs = _postgres_kwargs(url, masked, config)
    else:
        raise StorageError(
            f"storage.database_url {masked!r}: unsupported database {backend!r} "
            "(use sqlite:///PATH or postgresql+psycopg://...)"
        )
    try:
        if backend == "postgresql" and url.get_driver_name() == "psycopg":
            require("psycopg", extra="postgres", setting="storage.database_url is PostgreSQL")
        engine = create_engine(url, **kwargs)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise StorageError(f"storage.database_url {masked!r}: {mask_text(str(exc))}") from exc
    if backend == "sqlite":
        _sqlite_setup(engine, config)
    return engine


def _parsed_url(raw: str, masked: str) -> URL:
    """The URL, or a StorageError that never quotes the password."""
    rest = raw.split("://", 1)[1] if "://" in raw and not raw.startswith("sqlite") else ""
    userinfo = rest.rsplit("@", 1)[0] if "@" in rest else ""
    if rest.count("@") > 1 or any(c in userinfo for c in "/#? "):
        # SQLAlchemy would split such a password at the first '@' (or '/', '#', '?') and pass
        # the rest on as a host name, into driver messages: refuse it with the fix instead.
        raise StorageError(
            f"storage.database_url {masked!r}: the password contains a character that must "
            "be percent-encoded (@ as %40, / as %2F, # as %23, ? as %3F, space as %20)"
        )
    try:
        return make_url(raw)
    except (ArgumentError, ValueError):
        # never the parser's message: it quotes pieces of the URL, password included
        raise StorageError(
            f"storage.database_url {masked!r} is not a database URL "
            "(expected sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB)"
        ) from None


def _sqlite_kwargs(url: URL, masked: str) -> dict[str, Any]:
    """Engine options for SQLite; the database file's folder is created."""
    db = url.database or ""
    if db in ("", ":memory:") or db.startswith("file::memory:"):
        return {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    try:
        Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(
            f"storage.database_url {masked!r}: cannot create folder for {db!r}: {exc}"
        ) from exc
    return {}


def _postgres_kwargs(url: URL, masked: str, config: StorageConfig) -> dict[str, Any]:
    """Engine options for PostgreSQL: a pre-pinged pool with timeouts (psycopg only)."""
    if url.get_driver_name() not in ("psycopg", "psycopg2"):
        raise StorageError(
            f"storage.database_url {masked!r}: use the psycopg driver (postgresql+psycopg://...)"
        )
    return {
        "pool_pre_ping": True,
        "pool_size": config.pool_size,
        "pool_timeout": config.connect_timeout_s,
        "connect_args": postgres_connect_args(config, url_options=url.query.get("options")),
    }


def postgres_connect_args(
    config: StorageConfig, *, url_options: str | tuple[str, ...] | None = None
) -> dict[str, Any]:
    """libpq settings that bound every wait on PostgreSQL: connecting, each statement and
    lock wait, and a peer that vanished or hangs (TCP keepalives and user timeout).

    ``options`` given in the URL (e.g. a search_path) are kept, and win over these."""
    idle = max(1, round(config.tcp_keepalive_s))
    interval = max(1, idle // 3)
    count = 3
    statement_ms = int(config.statement_timeout_s * 1000)
    return {
        "connect_timeout": max(1, round(config.connect_timeout_s)),
        "keepalives": 1,
        "keepalives_idle": idle,
        "keepalives_interval": interval,
        "keepalives_count": count,
        # unacknowledged data (a server that stopped reading) fails the socket after this
        "tcp_user_timeout": (idle + interval * count) * 1000,
        "options": " ".join(
            [f"-c statement_timeout={statement_ms} -c lock_timeout={statement_ms}"]
            + ([url_options] if isinstance(url_options, str) else list(url_options or ()))
        ),
    }


def _sqlite_setup(engine: Engine, config: StorageConfig) -> None:
    busy_ms = int(config.sqlite_busy_timeout_s * 1000)
    sync = config.sqlite_synchronous

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (see below).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {busy_ms}")
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA foreign_keys = ON")
            cur.execute(f"PRAGMA synchronous = {sync}")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def check_connection(engine: Engine, masked_url: str) -> None:
    """Connect once; raise ``StorageError`` naming the masked URL if that fails."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise StorageError(f"cannot open database {masked_url}: {mask_text(reason)}") from exc


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    """An Alembic config pointing at Vigil's migrations; ``connection`` is used by env.py."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", MIGRATIONS)
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest migration this code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise StorageError("no Alembic migrations found in storage/migrations")
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None for a database Alembic never touched)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


class SchemaState(enum.StrEnum):
    """How a database's schema compares with the code."""

    EMPTY = "empty"
    CURRENT = "current"
    OUTDATED = "outdated"
    UNKNOWN = "unknown"


def schema_state(engine: Engine) -> SchemaState:
    """EMPTY (no Vigil tables), CURRENT, OUTDATED, or UNKNOWN (tables but no Alembic stamp)."""
    with engine.connect() as conn:
        rev = MigrationContext.configure(conn).get_current_revision()
        if rev is None:
            tables = set(inspect(conn).get_table_names())
            return SchemaState.UNKNOWN if tables & set(Base.metadata.tables) else SchemaState.EMPTY
    return SchemaState.CURRENT if rev == head_revision() else SchemaState.OUTDATED


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Run the migrations up to ``revision``; returns (revision before, revision after)."""
    before = current_revision(engine)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)
    after = current_revision(engine)
    if before != after:
        log.info("database schema upgraded from %s to %s", before or "empty", after)
    return before, after


def ensure_schema(engine: Engine, masked_url: str, *, create_if_empty: bool) -> None:
    """Create the schema in an empty database, or refuse an out-of-date one.

    Raises ``SchemaOutOfDate`` naming the command that fixes it.
    """
    state = schema_state(engine)
    if state is SchemaState.CURRENT:
        return
    if state is SchemaState.EMPTY and create_if_empty:
        upgrade(engine)
        return
    head = head_revision()
    if state is SchemaState.EMPTY:
        raise SchemaOutOfDate(
            f"database {masked_url} has no Vigil schema; run `{UPGRADE_HINT}` to create it"
        )
    if state is SchemaState.UNKNOWN:
        raise SchemaOutOfDate(
            f"database {masked_url} has Vigil tables but no migration stamp (alembic_version); "
            "it was not created by `vigil db upgrade` — back it up and recreate it"
        )
    rev = current_revision(engine)
    raise SchemaOutOfDate(
        f"database {masked_url} schema is at revision {rev}, this Vigil needs {head}; "
        f"run `{UPGRADE_HINT}` (back up the database first)"
    )
