"""The fixtures the API tests and the console tests share: a world per backend and its client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.vigil.api.api_kit import World, open_world
from vigil.api.app import create_app


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[World]:
    """A fresh database (SQLite or PostgreSQL by ``db_url``) with cameras cam-a and cam-b."""
    w = open_world(db_url, tmp_path)
    try:
        yield w
    finally:
        w.store.close()


def client_of(w: World) -> TestClient:
    """A TestClient over the API and console of ``w``."""
    return TestClient(create_app(w.ops, w.config, media_dir=w.media_dir))


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    """A TestClient over the API of ``world`` (on both backends)."""
    with client_of(world) as c:
        yield c
