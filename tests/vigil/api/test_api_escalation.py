"""Escalation of incidents left `new`, and actions refused whole when the database is down."""

from __future__ import annotations

import json
import logging

import pytest
from api_kit import World, bearer
from fastapi.testclient import TestClient
from sqlalchemy import text

from reports.types import Severity
from storage import messages
from storage.db import make_engine
from storage.settings import StorageConfig
from vigil.api.server import Escalator

pytestmark = pytest.mark.timeout(120)


def _escalations(world: World) -> list[str]:
    return [
        str(e.incident_id)
        for e in world.ops.events_after(0, cameras=None)
        if e.kind == "escalation"
    ]


def test_critical_left_new_escalates_once(world: World, client: TestClient) -> None:
    esc = Escalator(world.ops, {"critical": 60.0})
    now = world.clock()
    crit = world.record(severity=Severity.CRITICAL, opened_ts_s=now)
    high = world.record(severity=Severity.HIGH, opened_ts_s=now)
    quiet = world.record(severity=None, opened_ts_s=now)
    acked = world.record(severity=Severity.CRITICAL, opened_ts_s=now)
    tok = world.token("desk", "operator")
    assert client.post(
        f"/api/incidents/{acked}/acknowledge", json={}, headers=bearer(tok)
    ).is_success
    world.clock.advance(59.0)
    assert esc.tick() == 0
    world.clock.advance(2.0)
    assert esc.tick() == 1
    assert esc.tick() == 0  # once only
    world.clock.advance(3600.0)
    assert esc.tick() == 0
    assert _escalations(world) == [crit]
    detail = client.get(f"/api/incidents/{crit}", headers=bearer(tok)).json()
    assert detail["workflow"]["state"] == "new"
    assert detail["workflow"]["escalated_at"] is not None
    assert [(h["action"], h["actor"]) for h in detail["history"]] == [("escalate", "system")]
    bus = [
        json.loads(r.payload)
        for r in world.store.pending_outbox(limit=100)
        if r.topic == messages.ACTIONS and r.incident_id == crit
    ]
    assert [(m["action"], m["version"], m["schema_version"]) for m in bus] == [
        ("escalate", 1, messages.SCHEMA_VERSION)
    ]
    for other in (high, quiet):
        assert client.get(f"/api/incidents/{other}", headers=bearer(tok)).json()["history"] == []
    # an escalated incident is still worked on as usual
    r = client.post(f"/api/incidents/{crit}/acknowledge", json={}, headers=bearer(tok))
    assert r.status_code == 200 and r.json()["seq"] == 2


def test_snoozed_camera_does_not_escalate_while_snoozed(world: World) -> None:
    esc = Escalator(world.ops, {"critical": 60.0})
    world.ops.snooze("cam-b", minutes=10, actor="ann")
    inc = world.record(camera_id="cam-b", severity=Severity.CRITICAL, opened_ts_s=world.clock())
    world.clock.advance(120.0)
    assert esc.tick() == 0
    world.clock.advance(10 * 60.0)  # the snooze is over
    assert esc.tick() == 1
    assert _escalations(world) == [inc]


_TRIGGERS = {
    "sqlite": [
        "CREATE TRIGGER refuse_live BEFORE INSERT ON live_events "
        "BEGIN SELECT RAISE(ABORT, 'live feed refused'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_live() RETURNS trigger AS $$ BEGIN "
        "RAISE EXCEPTION 'live feed refused'; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER refuse_live BEFORE INSERT ON live_events "
        "FOR EACH ROW EXECUTE FUNCTION refuse_live()",
    ],
}


def _state(world: World, client: TestClient, tok: str, inc: str) -> tuple[object, ...]:
    d = client.get(f"/api/incidents/{inc}", headers=bearer(tok)).json()
    bus = [r for r in world.store.pending_outbox(limit=1000) if r.topic == messages.ACTIONS]
    return d["workflow"]["state"], len(d["history"]), len(bus), world.ops.last_event_id()


def test_failing_last_write_refuses_the_whole_action(world: World, client: TestClient) -> None:
    tok = world.token("desk", "operator")
    inc = world.record()
    before = _state(world, client, tok, inc)
    with world.store.engine.begin() as conn:
        for sql in _TRIGGERS[world.store.dialect]:
            conn.execute(text(sql))
    r = client.post(f"/api/incidents/{inc}/acknowledge", json={}, headers=bearer(tok))
    assert r.status_code == 503, r.text
    assert "not applied" in r.json()["detail"]
    with world.store.engine.begin() as conn:
        conn.execute(
            text(
                "DROP TRIGGER refuse_live"
                + (" ON live_events" if world.store.dialect == "postgresql" else "")
            )
        )
    assert _state(world, client, tok, inc) == before  # neither workflow, audit nor outbox row
    assert client.post(f"/api/incidents/{inc}/acknowledge", json={}, headers=bearer(tok)).is_success


def test_unreachable_database_is_503_not_500(
    world: World, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    tok = world.token("desk", "operator")
    inc = world.record()
    good, good_read = world.store.engine, world.store._read_engine
    dead_url = (
        "postgresql+psycopg://postgres@127.0.0.1:9/test?connect_timeout=2"
        if world.store.dialect == "postgresql"
        else f"sqlite:///{world.media_dir / 'no-such-dir' / 'x.db'}"
    )
    dead = make_engine(StorageConfig(database_url=dead_url, media_dir=str(world.media_dir)))
    world.store.engine = dead
    world.store._read_engine = dead
    try:
        with caplog.at_level(logging.WARNING):
            for method, path, body in [
                ("POST", f"/api/incidents/{inc}/acknowledge", {}),
                ("GET", f"/api/incidents/{inc}", None),
                ("GET", "/api/incidents", None),
                ("POST", "/api/cameras/cam-a/snooze", {"minutes": 5}),
            ]:
                r = client.request(method, path, json=body, headers=bearer(tok))
                assert r.status_code == 503, (path, r.status_code, r.text)
                assert "database" in r.json()["detail"]
        assert client.get("/api/health").status_code == 200
        assert not [rec for rec in caplog.records if rec.exc_info]
    finally:
        world.store.engine = good
        world.store._read_engine = good_read
        dead.dispose()
    assert client.get(f"/api/incidents/{inc}", headers=bearer(tok)).json()["history"] == []
