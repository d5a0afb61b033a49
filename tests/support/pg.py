"""PostgreSQL for tests: every test that touches the database runs on SQLite and PostgreSQL.

PostgreSQL is required: a test FAILS when it cannot connect, unless ``VIGIL_SKIP_PG=1``.
Each test gets its own PostgreSQL schema (created and dropped here; nothing else is touched).
``VIGIL_TEST_PG_URL`` overrides the server (default: postgres on 127.0.0.1:5432, db ``test``).
A conftest imports the fixtures (``from tests.support.pg import db_url, ...``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

PG_URL = os.environ.get("VIGIL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SKIP_PG = os.environ.get("VIGIL_SKIP_PG") == "1"
BACKENDS = ["sqlite", "postgresql"]


def _pg_conninfo() -> dict[str, Any]:
    url = make_url(PG_URL)
    return {
        "host": url.host or "127.0.0.1",
        "port": url.port or 5432,
        "user": url.username,
        "password": url.password,
        "dbname": url.database,
        "connect_timeout": 5,
        "autocommit": True,
    }


@pytest.fixture(scope="session")
def pg_available() -> bool:
    """Connect once; FAIL (not skip) when PostgreSQL is down, unless VIGIL_SKIP_PG=1."""
    try:
        with psycopg.connect(**_pg_conninfo()) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        if SKIP_PG:
            return False
        pytest.fail(
            f"PostgreSQL at {make_url(PG_URL).render_as_string(hide_password=True)} is required "
            f"for the storage tests ({exc}); start it or set VIGIL_SKIP_PG=1"
        )
    return True


@contextmanager
def fresh_pg_schema() -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped on exit."""
    schema = f"vigil_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(**_pg_conninfo()) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(**_pg_conninfo()) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def pg_schema_url(pg_available: bool) -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped after the test."""
    if not pg_available:
        pytest.skip("VIGIL_SKIP_PG=1: PostgreSQL tests skipped on request")
    with fresh_pg_schema() as url:
        yield url


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database URL of the backend under test."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'vigil.db'}"
    return str(request.getfixturevalue("pg_schema_url"))
