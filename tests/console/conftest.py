"""Fixtures of the console tests: a world per backend and a logged-in TestClient per role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from browser_fixtures import (  # the browser tests' fixtures and summary hook
    browser,
    page_as,
    pytest_terminal_summary,
    rtsp,
    scene,
    stack,
)
from fastapi.testclient import TestClient

from tests.support.pg import BACKENDS, db_url, pg_available, pg_schema_url
from tests.vigil.api.api_fixtures import client, client_of, world
from tests.vigil.api.api_kit import World, open_world

__all__ = [
    "BACKENDS",
    "browser",
    "client",
    "db_url",
    "page_as",
    "pg_available",
    "pg_schema_url",
    "pytest_terminal_summary",
    "rtsp",
    "scene",
    "stack",
    "world",
]


@pytest.fixture
def sqlite_world(tmp_path: Path) -> Iterator[World]:
    """A fresh SQLite world (for tests of pages and files, not of queries)."""
    w = open_world(f"sqlite:///{tmp_path / 'vigil.db'}", tmp_path)
    try:
        yield w
    finally:
        w.store.close()


@pytest.fixture
def login(sqlite_world: World) -> Iterator[Callable[..., TestClient]]:
    """``login(role, cameras=None)``: a TestClient with a session of a new user of that role."""
    clients: list[TestClient] = []

    def make(role: str, cameras: list[str] | None = None) -> TestClient:
        uid = sqlite_world.user(f"{role}-{len(clients)}", role, cameras)
        c = client_of(sqlite_world)
        c.cookies.set("vigil_session", sqlite_world.session(uid))
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def anon(sqlite_world: World) -> Iterator[TestClient]:
    """A TestClient without credentials."""
    with client_of(sqlite_world) as c:
        yield c
