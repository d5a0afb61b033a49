"""aiokafka and psycopg are extras: imported only when the config needs them, and a clear
error naming the extra when they are missing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest

from storage.db import make_engine
from storage.extras import MissingExtra, require
from storage.publisher import OutboxPublisher
from storage.settings import BusConfig, KafkaConfig, StorageConfig
from storage.store import Store

ROOT = Path(__file__).resolve().parents[2]


def _hide(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Make ``import NAME`` (and its submodules) fail as if NAME were not installed."""
    for mod in [m for m in sys.modules if m.split(".", 1)[0] in names]:
        monkeypatch.delitem(sys.modules, mod)
    for name in names:
        monkeypatch.setitem(sys.modules, name, None)


def test_product_modules_import_without_the_extras() -> None:
    code = (
        "import sys\n"
        "for m in ('aiokafka', 'psycopg', 'jsonschema'): sys.modules[m] = None\n"
        "import vigil.cli, vigil.app, storage.publisher, storage.db, storage.store\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_require_names_the_setting_and_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide(monkeypatch, "aiokafka")
    with pytest.raises(MissingExtra) as info:
        require("aiokafka.errors", extra="kafka", setting="bus.kafka is set")
    assert str(info.value) == (
        "bus.kafka is set but aiokafka is not installed: pip install 'vigil[kafka]'"
    )
    assert info.value.extra == "kafka"


def test_require_returns_the_module() -> None:
    assert require("json", extra="none", setting="x").dumps([]) == "[]"


def test_publisher_without_kafka_needs_no_aiokafka(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide(monkeypatch, "aiokafka")
    OutboxPublisher(cast(Store, None), BusConfig())  # in-process bus only: fine


def test_publisher_with_kafka_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide(monkeypatch, "aiokafka")
    bus = BusConfig(kafka=KafkaConfig(bootstrap_servers="127.0.0.1:9"))
    with pytest.raises(MissingExtra, match=r"pip install 'vigil\[kafka\]'"):
        OutboxPublisher(cast(Store, None), bus)


def test_postgres_url_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide(monkeypatch, "psycopg")
    cfg = StorageConfig(database_url="postgresql+psycopg://vigil:s3cret@127.0.0.1:1/vigil")
    with pytest.raises(MissingExtra) as info:
        make_engine(cfg)
    message = str(info.value)
    assert message == (
        "storage.database_url is PostgreSQL but psycopg is not installed: "
        "pip install 'vigil[postgres]'"
    )
    assert "s3cret" not in message


def test_sqlite_needs_no_psycopg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _hide(monkeypatch, "psycopg")
    make_engine(StorageConfig(database_url=f"sqlite:///{tmp_path / 'v.db'}")).dispose()
