"""Fixtures of the API tests: a world per backend (SQLite and PostgreSQL) and a TestClient."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_kit import World, free_port, open_world

from tests.support.pg import BACKENDS, db_url, pg_available, pg_schema_url
from tests.vigil.api.api_fixtures import client, world
from vigil.api.server import ApiServer

__all__ = ["BACKENDS", "client", "db_url", "pg_available", "pg_schema_url", "world"]


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
