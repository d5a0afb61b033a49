"""`vigil db ...`: upgrade, current, outbox, sweep."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from storage_workload import make_update
from typer.testing import CliRunner

from storage.db import head_revision, make_engine
from storage.settings import StorageConfig
from storage.store import Store
from vigil.cli_db import app

runner = CliRunner()


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "vigil.yaml"
    path.write_text(
        f"storage:\n  database_url: '{url}'\n  media_dir: '{tmp_path / 'media'}'\n",
        encoding="utf-8",
    )
    return path


def test_upgrade_then_current(db_url: str, tmp_path: Path) -> None:
    cfg = _config(tmp_path, db_url)
    res = runner.invoke(app, ["current", "-c", str(cfg)])
    assert res.exit_code == 3 and "state:    empty" in res.output
    res = runner.invoke(app, ["upgrade", "-c", str(cfg)])
    assert res.exit_code == 0, res.output
    assert f"upgraded from empty to {head_revision()}" in res.output
    res = runner.invoke(app, ["upgrade", "-c", str(cfg)])
    assert res.exit_code == 0 and "already at" in res.output
    res = runner.invoke(app, ["current", "-c", str(cfg)])
    assert res.exit_code == 0 and "state:    current" in res.output
    Store.open(StorageConfig(database_url=db_url), create_if_empty=False).close()


def test_outbox_and_sweep_commands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v.db'}"
    cfg = _config(tmp_path, url)
    with Store.open(StorageConfig(database_url=url)) as store:
        store.upsert_camera(camera_id="cam-a", name="A", location=None, url_masked="x")
        store.record(make_update("inc-1", 1))
    res = runner.invoke(app, ["outbox", "-c", str(cfg)])
    assert res.exit_code == 0, res.output
    assert "pending messages: 1" in res.output and "incident inc-1 version 1" in res.output
    res = runner.invoke(app, ["sweep", "-c", str(cfg)])
    assert res.exit_code == 0, res.output
    assert "deleted 0 files" in res.output


def test_bad_config_and_bad_url_are_clear_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("storage:\n  databse_url: x\n", encoding="utf-8")
    res = runner.invoke(app, ["upgrade", "-c", str(bad)])
    assert res.exit_code == 2
    assert "bad.yaml:2 storage.databse_url: unknown key" in res.output
    cfg = _config(tmp_path, "postgresql+psycopg://vigil:s3cret@127.0.0.1:1/vigil")
    res = runner.invoke(app, ["upgrade", "-c", str(cfg)])
    assert res.exit_code == 1
    assert "vigil:***@127.0.0.1:1" in res.output and "s3cret" not in res.output


def test_upgrade_of_a_database_from_a_newer_vigil_says_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v.db'}"
    Store.open(StorageConfig(database_url=url)).close()
    engine = make_engine(StorageConfig(database_url=url))
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    res = runner.invoke(app, ["upgrade", "-c", str(_config(tmp_path, url))])
    assert res.exit_code == 1
    assert "9999_future" in res.output and "newer Vigil" in res.output


@pytest.mark.parametrize("cmd", ["outbox", "sweep"])
def test_commands_refuse_a_database_without_schema(tmp_path: Path, cmd: str) -> None:
    cfg = _config(tmp_path, f"sqlite:///{tmp_path / 'empty.db'}")
    (tmp_path / "empty.db").touch()  # there, but without a schema
    res = runner.invoke(app, [cmd, "-c", str(cfg)])
    assert res.exit_code == 1 and "vigil db upgrade -c FILE" in res.output
