"""Migrations, schema checks at start-up, and clear errors for wrong database URLs."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from storage.db import current_revision, head_revision, make_engine, schema_state, upgrade
from storage.errors import SchemaOutOfDate, StorageError
from storage.models import Base, include_in_autogenerate
from storage.settings import StorageConfig
from storage.store import Store


def test_empty_database_gets_the_migrated_schema(storage_config: StorageConfig) -> None:
    with Store.open(storage_config) as store:
        assert current_revision(store.engine) == head_revision()
    with Store.open(storage_config, create_if_empty=False) as store:  # reopening is fine
        assert store.list_incidents() == []


def test_autogenerate_finds_no_difference_between_models_and_migrations(
    storage_config: StorageConfig,
) -> None:
    engine = make_engine(storage_config)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            # the full-text table/index are dialect-specific SQL in migration 0003, not models
            opts = {"compare_type": True, "include_name": include_in_autogenerate}
            ctx = MigrationContext.configure(conn, opts=opts)
            diff = compare_metadata(ctx, Base.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_empty_database_without_create_says_which_command_creates_it(
    storage_config: StorageConfig,
) -> None:
    db_file = storage_config.sqlite_path()
    if db_file is not None:  # an empty SQLite file: there, but without a schema
        db_file.parent.mkdir(parents=True, exist_ok=True)
        db_file.touch()
    with pytest.raises(SchemaOutOfDate, match=r"run `vigil db upgrade -c FILE`"):
        Store.open(storage_config, create_if_empty=False)


def test_out_of_date_schema_refuses_to_start_and_names_the_fix(
    storage_config: StorageConfig,
) -> None:
    Store.open(storage_config).close()
    engine = make_engine(storage_config)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0000_older'"))
        assert schema_state(engine) == "outdated"
    finally:
        engine.dispose()
    with pytest.raises(SchemaOutOfDate) as err:
        Store.open(storage_config)
    msg = str(err.value)
    assert "0000_older" in msg and head_revision() in msg and "vigil db upgrade -c FILE" in msg


def test_tables_without_a_migration_stamp_are_refused(storage_config: StorageConfig) -> None:
    engine = make_engine(storage_config)
    try:
        Base.metadata.create_all(engine)
    finally:
        engine.dispose()
    with pytest.raises(SchemaOutOfDate, match="no migration stamp"):
        Store.open(storage_config)


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("postgresql+psycopg://vigil:s3cret@127.0.0.1:1/vigil", "cannot open database"),
        ("mysql://vigil:s3cret@127.0.0.1/vigil", "unsupported database 'mysql'"),
        ("postgresql//vigil:s3cret@127.0.0.1/vigil", "is not a database URL"),
        ("postgresql+pg8000://vigil:s3cret@127.0.0.1/vigil", "use the psycopg driver"),
    ],
)
def test_wrong_database_url_is_a_clear_error_with_the_password_masked(url: str, match: str) -> None:
    with pytest.raises(StorageError, match=match) as err:
        Store.open(StorageConfig(database_url=url, connect_timeout_s=2))
    assert "s3cret" not in str(err.value)
    assert "vigil:***@" in str(err.value)


def test_sqlite_path_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "junk.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match=r"junk\.db"):
        Store.open(StorageConfig(database_url=f"sqlite:///{bad}"))


def test_sqlite_creates_the_database_folder(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "vigil.db"
    Store.open(StorageConfig(database_url=f"sqlite:///{path}")).close()
    assert path.exists()
