"""Inputs the database cannot take are the client's error (422/404), never a 5xx.

Found by the schemathesis run: ids past 64 bits overflowed SQLite (500) and PostgreSQL
('bigint out of range', 503); NUL characters in text made PostgreSQL fail the query (503).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from api_kit import World, bearer
from fastapi.testclient import TestClient

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("media_id", ["9223372036854775808", str(10**30), "0", "-1", "1.5"])
def test_media_ids_outside_the_database_range(
    world: World, client: TestClient, media_id: str
) -> None:
    h = bearer(world.token("wall", "viewer"))
    assert client.get(f"/api/media/{media_id}", headers=h).status_code == 422


def test_largest_media_id_is_just_not_found(world: World, client: TestClient) -> None:
    h = bearer(world.token("wall", "viewer"))
    assert client.get(f"/api/media/{2**63 - 1}", headers=h).status_code == 404


@pytest.mark.parametrize(
    "params",
    [{"camera": "a\x00b"}, {"type": "\x00"}, {"status": "op\x00"}, {"zone": "z\x00"}],
)
def test_nul_in_list_filters_is_422(
    world: World, client: TestClient, params: dict[str, str]
) -> None:
    h = bearer(world.token("wall", "viewer"))
    assert client.get("/api/incidents", params=params, headers=h).status_code == 422
    assert client.get("/api/incidents/export", params=params, headers=h).status_code == 422


def test_nul_in_path_ids_is_422(world: World, client: TestClient) -> None:
    h = bearer(world.token("desk", "operator"))
    assert client.get("/api/incidents/a%00b", headers=h).status_code == 422
    r = client.post("/api/incidents/a%00b/acknowledge", json={}, headers=h)
    assert r.status_code == 422
    r = client.post("/api/cameras/cam%00/snooze", json={"minutes": 1}, headers=h)
    assert r.status_code == 422


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/incidents/{inc}/notes", {"note": "a\x00b"}),
        ("/api/incidents/{inc}/acknowledge", {"note": "\x00"}),
        ("/api/incidents/{inc}/resolve", {"disposition": "test", "note": "\x00"}),
        ("/api/incidents/{inc}/assign", {"owner": "ann\x00"}),
        ("/api/auth/login", {"username": "ann\x00", "password": "x"}),
    ],
)
def test_nul_in_bodies_is_422_and_changes_nothing(
    world: World, client: TestClient, path: str, body: dict[str, Any]
) -> None:
    h = bearer(world.token("desk", "operator"))
    inc = world.record()
    r = client.post(path.format(inc=inc), json=body, headers=h)
    assert r.status_code == 422, r.text
    assert client.get(f"/api/incidents/{inc}", headers=h).json()["history"] == []


def test_lone_surrogate_in_a_note_is_refused_not_500(world: World, client: TestClient) -> None:
    h = {**bearer(world.token("desk", "operator")), "Content-Type": "application/json"}
    inc = world.record()
    r = client.post(f"/api/incidents/{inc}/notes", content=b'{"note": "\\ud800"}', headers=h)
    assert r.status_code == 422, r.text


def _b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor", [_b64([1.0, "a\x00"]), _b64([float("inf"), "x"]), _b64([float("nan"), "x"])]
)
def test_cursors_never_handed_out_are_422(world: World, client: TestClient, cursor: str) -> None:
    world.record()
    h = bearer(world.token("wall", "viewer"))
    assert client.get("/api/incidents", params={"cursor": cursor}, headers=h).status_code == 422


def test_after_past_64_bits_is_422(world: World, client: TestClient) -> None:
    h = bearer(world.token("wall", "viewer"))
    assert client.get("/api/events", params={"after": 2**63}, headers=h).status_code == 422
