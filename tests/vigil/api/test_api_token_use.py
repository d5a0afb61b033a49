"""A bearer token's ``last_used`` is written at most once a minute per token, not per request."""

from __future__ import annotations

import pytest
from api_kit import World, bearer, counted
from fastapi.testclient import TestClient

from storage.operator_store import TOKEN_USE_WRITE_EVERY_S

pytestmark = pytest.mark.timeout(120)


def _last_used(world: World, name: str) -> float | None:
    return {t.name: t.last_used_ts_s for t in world.ops.list_tokens()}[name]


def _token_updates(statements: list[str]) -> int:
    return sum(s.lstrip().upper().startswith("UPDATE API_TOKENS") for s in statements)


def test_last_used_written_once_per_minute_per_token(world: World, client: TestClient) -> None:
    assert TOKEN_USE_WRITE_EVERY_S == 60.0
    wall, desk = world.token("wall", "viewer"), world.token("desk", "viewer")
    t0 = world.clock()
    with counted(world) as seen:
        for _ in range(20):
            assert client.get("/api/incidents", headers=bearer(wall)).status_code == 200
    assert _token_updates(seen) == 1 and _last_used(world, "wall") == t0
    assert _last_used(world, "desk") is None  # per token: desk has its own minute
    assert client.get("/api/incidents", headers=bearer(desk)).status_code == 200
    assert _last_used(world, "desk") == t0
    world.clock.advance(59.0)
    with counted(world) as seen:
        assert client.get("/api/incidents", headers=bearer(wall)).status_code == 200
    assert _token_updates(seen) == 0 and _last_used(world, "wall") == t0
    world.clock.advance(1.0)
    with counted(world) as seen:
        for _ in range(5):
            assert client.get("/api/incidents", headers=bearer(wall)).status_code == 200
    assert _token_updates(seen) == 1 and _last_used(world, "wall") == t0 + 60.0


def test_revoked_token_refused_within_the_minute_and_unknown_ones_not_kept(
    world: World, client: TestClient
) -> None:
    tok = world.token("wall", "viewer")
    assert client.get("/api/incidents", headers=bearer(tok)).status_code == 200
    world.ops.revoke_token("wall")
    assert client.get("/api/incidents", headers=bearer(tok)).status_code == 401
    for i in range(50):
        assert client.get("/api/incidents", headers=bearer(f"bogus-{i}")).status_code == 401
    assert len(world.ops.token_uses) == 1  # only the token that was live
