"""What the console needs from the API: report provenance and an incident's neighbours."""

from __future__ import annotations

import dataclasses

from fastapi.testclient import TestClient

from reports.types import Severity
from tests.storage.storage_workload import make_report, make_update
from tests.vigil.api.api_kit import World, bearer


def _at(world: World, incident_id: str, camera_id: str, opened: float) -> None:
    u = make_update(incident_id, 1, camera_id=camera_id, ts_s=opened, opened_ts_s=opened)
    assert world.store.record(u, report=make_report(incident_id, 1))


def _neighbours(client: TestClient, token: str, incident_id: str) -> tuple[str | None, ...]:
    r = client.get(f"/api/incidents/{incident_id}/neighbours", headers=bearer(token))
    assert r.status_code == 200, r.text
    body = r.json()
    return body["prev"], body["next"]


def test_neighbours_follow_opened_time_within_the_callers_cameras(
    world: World, client: TestClient
) -> None:
    t = 1_780_000_000.0
    # a1 < b1 < a2 < b2 < a3 by opened time; a2 and b2 share no time with anything
    for i, (inc, cam) in enumerate(
        [("a1", "cam-a"), ("b1", "cam-b"), ("a2", "cam-a"), ("b2", "cam-b"), ("a3", "cam-a")]
    ):
        _at(world, inc, cam, t + 60 * i)
    everyone = world.token("all", "viewer")
    only_a = world.token("a", "viewer", ["cam-a"])
    assert _neighbours(client, everyone, "a2") == ("b1", "b2")
    assert _neighbours(client, everyone, "a1") == (None, "b1")
    assert _neighbours(client, everyone, "a3") == ("b2", None)
    assert _neighbours(client, only_a, "a2") == ("a1", "a3")
    assert _neighbours(client, only_a, "a1") == (None, "a2")
    assert _neighbours(client, only_a, "a3") == ("a2", None)
    r = client.get("/api/incidents/b1/neighbours", headers=bearer(only_a))
    assert r.status_code == 404  # not confirmed outside one's cameras


def test_neighbours_with_the_same_opened_time_go_by_id(world: World, client: TestClient) -> None:
    t = 1_780_000_000.0
    for inc in ("s1", "s2", "s3"):
        _at(world, inc, "cam-a", t)
    tok = world.token("all", "viewer")
    assert _neighbours(client, tok, "s2") == ("s1", "s3")
    assert _neighbours(client, tok, "s1") == (None, "s2")


def test_reports_say_which_model_wrote_them_and_why_one_was_rejected(
    world: World, client: TestClient
) -> None:
    inc = "inc-llm"
    assert world.store.record(make_update(inc, 1), report=make_report(inc, 1, backend="openai"))
    rejected = dataclasses.replace(
        make_report(inc, 2),
        backend="template",
        model=None,
        fallback_used=True,
        fallback_reason="ungrounded: the answer names a knife",
        severity=Severity.CRITICAL,
    )
    assert world.store.record(make_update(inc, 2), report=rejected)
    r = client.get(f"/api/incidents/{inc}", headers=bearer(world.token("v", "viewer")))
    assert r.status_code == 200
    reports = r.json()["reports"]
    assert [(x["fallback_used"], x["fallback_reason"]) for x in reports] == [
        (False, None),
        (True, "ungrounded: the answer names a knife"),
    ]
    assert [(x["backend"], x["model"]) for x in reports] == [("openai", "tiny"), ("template", None)]
