"""GET /api/search: text, semantic (the real all-MiniLM-L6-v2) and hybrid, in the caller's
cameras only, with the background indexer embedding new reports; SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses

import pytest
from api_kit import World, bearer
from fastapi.testclient import TestClient

from detectors.types import IncidentUpdate
from storage.search import MiniLMEmbedder
from tests.storage.storage_workload import make_report, make_update
from vigil.api.server import SearchIndexer

pytestmark = pytest.mark.timeout(300)

FALL = (
    "Person fell near the loading dock",
    "A person fell and is lying on the floor near the loading dock. They have not moved "
    "for 40 seconds.",
    "Send someone to check on the person now.",
)
FIRE = (
    "Fire near the loading dock",
    "Flames and flickering light near the loading dock, growing over 20 seconds.",
    "Raise the fire alarm and evacuate the area.",
)


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def _record(world: World, incident_id: str, camera: str, event: str, text: tuple[str, ...]) -> None:
    update: IncidentUpdate = make_update(incident_id, 1, camera_id=camera)
    update = dataclasses.replace(update, event_type=event)
    title, summary, action = text
    report = dataclasses.replace(
        make_report(incident_id, 1), title=title, summary=summary, action=action
    )
    assert world.store.record(update, report=report)


@pytest.fixture
def indexed(world: World, client: TestClient, minilm: MiniLMEmbedder) -> TestClient:
    _record(world, "fall-a", "cam-a", "fall", FALL)
    _record(world, "fire-a", "cam-a", "fire", FIRE)
    _record(world, "fall-b", "cam-b", "fall", FALL)
    state = client.app.state.vigil  # type: ignore[attr-defined]
    state.embedder = minilm
    assert SearchIndexer(state).tick() == 3  # what the background pass does every 30 s
    return client


def test_meaning_finds_the_fall_at_the_camera_not_the_fire(
    world: World, indexed: TestClient
) -> None:
    tok = world.token("viewer", "viewer")
    r = indexed.get(
        "/api/search",
        params={
            "q": "person lying on the floor near the dock",
            "mode": "semantic",
            "camera": "cam-a",
        },
        headers=bearer(tok),
    )
    assert r.status_code == 200, r.text
    hits = r.json()
    assert [h["incident_id"] for h in hits][:1] == ["fall-a"]
    assert all(h["camera_id"] == "cam-a" for h in hits)
    if len(hits) > 1:
        assert hits[0]["score"] > hits[1]["score"]


@pytest.mark.parametrize("mode", ["text", "semantic", "hybrid"])
def test_a_scoped_caller_never_sees_other_cameras(
    world: World, indexed: TestClient, mode: str
) -> None:
    tok = world.token("b-only", "viewer", ["cam-b"])
    r = indexed.get("/api/search", params={"q": "person fell", "mode": mode}, headers=bearer(tok))
    assert r.status_code == 200, r.text
    assert {h["incident_id"] for h in r.json()} == {"fall-b"}
    hidden = indexed.get(
        "/api/search", params={"q": "fire", "camera": "cam-a"}, headers=bearer(tok)
    )
    assert hidden.status_code == 200 and hidden.json() == []


def test_text_search_and_bad_input(world: World, indexed: TestClient) -> None:
    tok = world.token("viewer", "viewer")
    r = indexed.get("/api/search", params={"q": "flames", "mode": "text"}, headers=bearer(tok))
    assert [h["incident_id"] for h in r.json()] == ["fire-a"]
    odd = indexed.get(
        "/api/search", params={"q": '"fire" OR (', "mode": "text"}, headers=bearer(tok)
    )
    assert odd.status_code == 200
    assert indexed.get("/api/search", params={"q": ""}, headers=bearer(tok)).status_code == 422
    assert (
        indexed.get(
            "/api/search", params={"q": "x", "mode": "psychic"}, headers=bearer(tok)
        ).status_code
        == 422
    )
    assert indexed.get("/api/search", params={"q": "fire"}).status_code == 401


def test_hits_carry_their_incident_and_take_the_lists_filters(
    world: World, client: TestClient
) -> None:
    from storage.repo_workflow import Action

    _record(world, "fall-a", "cam-a", "fall", FALL)
    _record(world, "fall-b", "cam-b", "fall", FALL)
    world.ops.act("fall-b", Action.ACKNOWLEDGE, actor="ann")
    tok = bearer(world.token("viewer", "viewer"))

    def ids(**params: str) -> list[str]:
        r = client.get("/api/search", params={"q": "fell", "mode": "text", **params}, headers=tok)
        assert r.status_code == 200, r.text
        for h in r.json():
            assert h["incident"]["id"] == h["incident_id"] and h["incident"]["title"] == FALL[0]
        return sorted(h["incident_id"] for h in r.json())

    assert ids() == ["fall-a", "fall-b"]
    assert ids(workflow="acknowledged") == ["fall-b"]
    assert ids(workflow="new") == ["fall-a"]
    assert ids(severity="critical") == []
    assert ids(zone="nowhere") == []
    assert ids(since="2000-01-01T00:00:00") == ["fall-a", "fall-b"]  # no offset: UTC
