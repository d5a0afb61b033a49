"""The incident list and the handover ask the database a constant number of statements per
page, not one per incident (counted with SQLAlchemy's ``before_cursor_execute``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from api_kit import World, bearer, counted
from fastapi.testclient import TestClient

from storage.repo_browse import BrowseQuery
from storage.repo_workflow import Action, Disposition

pytestmark = pytest.mark.timeout(180)

T0 = 1_750_000_000.0


def _statements(world: World, call: Callable[[], Any]) -> int:
    call()  # warm: connections opened, nothing first-time left
    with counted(world) as seen:
        call()
    return len(seen)


def _fifty(world: World) -> list[str]:
    """50 incidents, a third acted on (so both joined and missing workflow rows occur)."""
    ids = [
        world.record(f"n-{i:02d}", camera_id=("cam-a", "cam-b")[i % 2], opened_ts_s=T0 + i)
        for i in range(50)
    ]
    for i, inc in enumerate(ids):
        if i % 3 == 1:
            world.ops.act(inc, Action.ACKNOWLEDGE, actor="ann")
        elif i % 3 == 2:
            world.ops.act(inc, Action.NOTE, actor="ann", note=f"note {i}")
            world.ops.act(inc, Action.RESOLVE, actor="ann", disposition=Disposition.TEST)
    return ids


def test_browse_page_of_50_costs_what_a_page_of_5_costs(world: World) -> None:
    _fifty(world)
    small = _statements(world, lambda: world.ops.browse(BrowseQuery(limit=5)))
    big = _statements(world, lambda: world.ops.browse(BrowseQuery(limit=50)))
    assert big == small <= 4, (small, big)
    page, _ = world.ops.browse(BrowseQuery(limit=50))
    states = {rec.incident_id: view.state.value for rec, view in page}
    assert len(states) == 50
    assert [states[f"n-{i:02d}"] for i in range(3)] == ["new", "acknowledged", "resolved"]


def test_api_list_of_50_costs_what_a_list_of_5_costs(world: World, client: TestClient) -> None:
    _fifty(world)
    h = bearer(world.token("wall", "viewer"))

    def page(limit: int) -> Callable[[], Any]:
        return lambda: client.get("/api/incidents", params={"limit": limit}, headers=h)

    small, big = _statements(world, page(5)), _statements(world, page(50))
    assert big == small, (small, big)
    assert len(page(50)().json()["items"]) == 50


def test_handover_of_50_costs_what_a_handover_of_5_costs(world: World) -> None:
    for i in range(5):
        world.record(f"s-{i}", opened_ts_s=T0 + i)
        world.ops.act(f"s-{i}", Action.NOTE, actor="ann", note="checked")
    since = world.clock() - 3600

    def read() -> Any:
        return world.ops.handover(since_ts_s=since, cameras=None)

    small = _statements(world, read)
    _fifty(world)
    big = _statements(world, read)
    assert big == small <= 6, (small, big)
    h = read()
    assert len(h.open) + len(h.resolved) == 55
    acked = [i for i in h.open if i.incident.incident_id == "n-01"]
    assert acked[0].workflow.state.value == "acknowledged"
    assert all(i.workflow.state.value == "resolved" for i in h.resolved)
