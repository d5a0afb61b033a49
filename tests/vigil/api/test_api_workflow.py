"""The shared workflow over HTTP: transitions, audit trail, actions-topic outbox, live events."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from api_kit import World, bearer
from fastapi.testclient import TestClient

from storage import messages
from storage.repo_workflow import MAX_NOTE_CHARS

pytestmark = pytest.mark.timeout(120)


def _actions(world: World, incident_id: str) -> list[dict[str, Any]]:
    rows = world.store.pending_outbox(limit=1000)
    return [
        json.loads(r.payload)
        for r in rows
        if r.topic == messages.ACTIONS and r.incident_id == incident_id
    ]


def _events(world: World, incident_id: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (e.kind, e.payload)
        for e in world.ops.events_after(0, cameras=None)
        if e.incident_id == incident_id and e.kind.startswith(("workflow.", "escalation"))
    ]


def _post(client: TestClient, tok: str, inc: str, action: str, body: dict[str, Any]) -> Any:
    return client.post(f"/api/incidents/{inc}/{action}", json=body, headers=bearer(tok))


def test_full_path_writes_audit_outbox_and_live_event(world: World, client: TestClient) -> None:
    world.user("ann", "operator")
    tok = world.token("desk", "operator")
    inc = world.record()
    steps = [
        ("acknowledge", {"note": "on it"}, "acknowledged", None, None),
        ("investigate", {}, "investigating", None, "token:desk"),
        ("assign", {"owner": "ann"}, "investigating", None, "ann"),
        ("notes", {"note": "called the guard"}, "investigating", None, "ann"),
        ("resolve", {"disposition": "false_alarm"}, "resolved", "false_alarm", "ann"),
        ("reopen", {"note": "it came back"}, "acknowledged", None, "ann"),
    ]
    before: dict[str, Any] = {"state": "new", "disposition": None, "owner": None}
    for seq, (action, body, state, disposition, owner) in enumerate(steps, start=1):
        r = _post(client, tok, inc, action, body)
        assert r.status_code == 200, (action, r.text)
        after = {"state": state, "disposition": disposition, "owner": owner}
        entry = r.json()
        assert (entry["seq"], entry["actor"], entry["before"], entry["after"]) == (
            seq,
            "token:desk",
            before,
            after,
        )
        before = after
    detail = client.get(f"/api/incidents/{inc}", headers=bearer(tok)).json()
    assert detail["workflow"]["state"] == "acknowledged" and detail["workflow"]["owner"] == "ann"
    history = detail["history"]
    verbs = ["acknowledge", "investigate", "assign", "note", "resolve", "reopen"]
    assert [h["action"] for h in history] == verbs
    assert [h["seq"] for h in history] == list(range(1, 7))
    assert {h["actor"] for h in history} == {"token:desk"}
    assert history[4]["after"]["disposition"] == "false_alarm"
    assert history[0]["note"] == "on it"
    bus = _actions(world, inc)
    assert [m["version"] for m in bus] == list(range(1, 7))
    for m, h in zip(bus, history, strict=True):
        assert m["schema_version"] == messages.SCHEMA_VERSION
        assert m["incident_id"] == inc
        assert (m["action"], m["before"], m["after"]) == (h["action"], h["before"], h["after"])
    live = _events(world, inc)
    assert [k for k, _ in live] == [f"workflow.{v}" for v in verbs]
    assert [p["version"] for _, p in live] == list(range(1, 7))


ILLEGAL = [
    ([], "reopen", {}),
    (["acknowledge"], "acknowledge", {}),
    (["investigate"], "investigate", {}),
    (["resolve"], "resolve", {"disposition": "test"}),
    (["resolve"], "investigate", {}),
    (["resolve"], "acknowledge", {}),
    (["resolve"], "assign", {"owner": None}),
]


@pytest.mark.parametrize(("setup", "action", "body"), ILLEGAL)
def test_illegal_transition_is_409_and_changes_nothing(
    world: World, client: TestClient, setup: list[str], action: str, body: dict[str, Any]
) -> None:
    tok = world.token("desk", "operator")
    inc = world.record()
    for step in setup:
        extra = {"disposition": "true_alarm"} if step == "resolve" else {}
        assert _post(client, tok, inc, step, extra).status_code == 200
    r = _post(client, tok, inc, action, body)
    assert r.status_code == 409, r.text
    assert len(client.get(f"/api/incidents/{inc}", headers=bearer(tok)).json()["history"]) == len(
        setup
    )
    assert len(_actions(world, inc)) == len(setup)
    assert len(_events(world, inc)) == len(setup)


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("resolve", {}),
        ("resolve", {"disposition": "maybe"}),
        ("notes", {}),
        ("notes", {"note": ""}),
        ("notes", {"note": "x" * (MAX_NOTE_CHARS + 1)}),
        ("acknowledge", {"note": "x" * (MAX_NOTE_CHARS + 1)}),
        ("assign", {"owner": "nobody-by-that-name"}),
        ("acknowledge", {"colour": "red"}),
    ],
)
def test_bad_bodies_are_422_and_change_nothing(
    world: World, client: TestClient, action: str, body: dict[str, Any]
) -> None:
    tok = world.token("desk", "operator")
    inc = world.record()
    r = _post(client, tok, inc, action, body)
    assert r.status_code == 422, r.text
    assert client.get(f"/api/incidents/{inc}", headers=bearer(tok)).json()["history"] == []
    assert _actions(world, inc) == [] and _events(world, inc) == []


def test_note_of_the_longest_size_is_accepted(world: World, client: TestClient) -> None:
    tok = world.token("desk", "operator")
    inc = world.record()
    r = _post(client, tok, inc, "notes", {"note": "y" * MAX_NOTE_CHARS})
    assert r.status_code == 200
    assert r.json()["note"] == "y" * MAX_NOTE_CHARS


def test_unknown_incident_is_404(world: World, client: TestClient) -> None:
    tok = world.token("desk", "operator")
    assert _post(client, tok, "no-such-incident", "acknowledge", {}).status_code == 404
    assert client.get("/api/incidents/no-such-incident", headers=bearer(tok)).status_code == 404


def test_snooze_is_shown_and_announced(world: World, client: TestClient) -> None:
    tok = world.token("desk", "operator")
    r = client.post("/api/cameras/cam-b/snooze", json={"minutes": 10}, headers=bearer(tok))
    assert r.status_code == 200
    cams = {c["id"]: c for c in client.get("/api/cameras", headers=bearer(tok)).json()}
    assert cams["cam-b"]["snoozed_until"] == r.json()["until"]
    assert cams["cam-a"]["snoozed_until"] is None
    kinds = [e.kind for e in world.ops.events_after(0, cameras=["cam-b"])]
    assert "camera.snoozed" in kinds
    assert (
        client.post(
            "/api/cameras/cam-z/snooze", json={"minutes": 10}, headers=bearer(tok)
        ).status_code
        == 404
    )
    for bad in (0, -1, 7 * 24 * 60 + 1):
        assert (
            client.post(
                "/api/cameras/cam-b/snooze", json={"minutes": bad}, headers=bearer(tok)
            ).status_code
            == 422
        )


def test_concurrent_actions_on_one_incident_apply_one_after_another(
    world: World, client: TestClient
) -> None:
    # on PostgreSQL, concurrent actions read the same seq and all but one failed (503) on the
    # audit trail's unique (incident_id, seq), until apply_action locked the incident row
    tok = world.token("desk", "operator")
    notes_on, acked = world.record(), world.record()
    codes: dict[str, list[int]] = {"note": [], "ack": []}
    start = threading.Barrier(24)

    def act(kind: str, inc: str, action: str, body: dict[str, Any]) -> None:
        start.wait(timeout=30)
        codes[kind].append(_post(client, tok, inc, action, body).status_code)

    threads = [
        threading.Thread(target=act, args=("note", notes_on, "notes", {"note": f"n{i}"}))
        for i in range(16)
    ] + [threading.Thread(target=act, args=("ack", acked, "acknowledge", {})) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert codes["note"] == [200] * 16
    assert sorted(codes["ack"]) == [200] + [409] * 7
    history = client.get(f"/api/incidents/{notes_on}", headers=bearer(tok)).json()["history"]
    assert [h["seq"] for h in history] == list(range(1, 17))
    assert sorted(h["note"] for h in history) == sorted(f"n{i}" for i in range(16))
    assert [m["version"] for m in _actions(world, notes_on)] == list(range(1, 17))
