"""The login limiter's memory, and filter times without an offset."""

from __future__ import annotations

import time

import pytest
from api_kit import T_FILTER, World, bearer
from fastapi.testclient import TestClient

from vigil.api.state import LoginLimiter

pytestmark = pytest.mark.timeout(60)


class _Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_limiter_locks_out_and_unlocks_after_the_window() -> None:
    clock = _Clock()
    lim = LoginLimiter(3, 60.0, clock=clock)
    for _ in range(3):
        assert lim.locked_for("ann", "1.2.3.4") == 0.0
        lim.failed("ann", "1.2.3.4")
    assert lim.locked_for("ann", "1.2.3.4") == pytest.approx(60.0)
    assert lim.locked_for("ann", "5.6.7.8") == 0.0
    clock.t += 30.0
    assert lim.locked_for("ann", "1.2.3.4") == pytest.approx(30.0)
    clock.t += 30.0
    assert lim.locked_for("ann", "1.2.3.4") == 0.0


def test_limiter_forgets_expired_pairs() -> None:
    # before, every name tried kept an entry forever: logins with random names grew it
    clock = _Clock()
    lim = LoginLimiter(5, 60.0, clock=clock)
    for i in range(5000):
        lim.failed(f"user-{i}", "9.9.9.9")
        assert lim.locked_for(f"other-{i}", "9.9.9.9") == 0.0
    assert len(lim) <= 5000  # checking a pair does not add it
    clock.t += 61.0
    lim.failed("last", "9.9.9.9")
    assert len(lim) <= LoginLimiter.SWEEP_AT
    lim.failed("ann", "1.1.1.1")
    lim.failed("ann", "1.1.1.1")
    assert len(lim) < 10


def test_filter_time_without_offset_is_utc(
    world: World, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # before, a naive time was read in the server's local zone (time.tzset below)
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        t0 = T_FILTER.replace(tzinfo=None)
        world.record("early", opened_ts_s=T_FILTER.timestamp() - 60)
        world.record("late", opened_ts_s=T_FILTER.timestamp() + 60)
        h = bearer(world.token("wall", "viewer"))
        for key, want in (("since", ["late"]), ("until", ["early"])):
            r = client.get("/api/incidents", params={key: t0.isoformat()}, headers=h)
            assert [i["id"] for i in r.json()["items"]] == want, key
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
