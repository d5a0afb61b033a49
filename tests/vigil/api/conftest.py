"""Fixtures of the API tests: a world per backend (SQLite and PostgreSQL) and a TestClient."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_kit import World, free_port, open_world
from fastapi.testclient import TestClient

from tests.support.pg import BACKENDS, db_url, pg_available, pg_schema_url
from vigil.api.app import create_app
from vigil.api.server import ApiServer

__all__ = ["BACKENDS", "db_url", "pg_available", "pg_schema_url"]


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[World]:
    """A fresh database with cameras cam-a and cam-b, escalation off."""
    w = open_world(db_url, tmp_path)
    try:
        yield w
    finally:
        w.store.close()


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    """A TestClient over the API of ``world``."""
    app = create_app(world.ops, world.config, media_dir=world.media_dir)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def served(db_url: str, tmp_path: Path) -> Iterator[tuple[World, ApiServer]]:
    """A world served by a real ApiServer (uvicorn) on a free port."""
    w = open_world(db_url, tmp_path, bind=f"127.0.0.1:{free_port()}")
    server = ApiServer(w.ops, w.config, media_dir=w.media_dir)
    server.start()
    try:
        yield w, server
    finally:
        server.stop()
        w.store.close()
