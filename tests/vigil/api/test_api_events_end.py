"""When an open live feed must end: its credentials stop working, or the database fails."""

from __future__ import annotations

import pytest
from api_kit import PASSWORD, World, bearer
from sse_kit import SseReader, open_reader, wait_events

from storage.db import make_engine
from storage.settings import StorageConfig
from tests.support.wait import wait_until
from vigil.api.server import ApiServer
from vigil.auth import hash_password

pytestmark = pytest.mark.timeout(60)


def _ended(reader: SseReader) -> None:
    """The server ended the feed with a complete response (not a broken connection)."""
    wait_until(lambda: not reader._thread.is_alive(), timeout_s=20, what="the feed to end")
    assert reader.error is None, f"the stream broke: {reader.error!r}"


def test_revoking_a_token_ends_its_open_feed(served: tuple[World, ApiServer]) -> None:
    # before, a feed opened with a token kept streaming after `vigil tokens revoke`
    w, server = served
    keep = open_reader(server.url, bearer(w.token("keep", "viewer")))
    gone = open_reader(server.url, bearer(w.token("gone", "viewer")))
    try:
        w.ops.revoke_token("gone")
        _ended(gone)
        inc = w.record()
        wait_events(keep, 1)
        assert keep._thread.is_alive() and keep.events[0].data["incident_id"] == inc
    finally:
        keep.close()
        gone.close()


@pytest.mark.parametrize("how", ["logout", "passwd", "remove"])
def test_ending_a_session_ends_its_open_feed(served: tuple[World, ApiServer], how: str) -> None:
    w, server = served
    uid = w.user("ann", "viewer")
    sid = w.session(uid)
    reader = open_reader(server.url, {"Cookie": f"vigil_session={sid}"})
    try:
        if how == "logout":
            import httpx

            r = httpx.post(
                f"{server.url}/api/auth/logout", headers={"Cookie": f"vigil_session={sid}"}
            )
            assert r.status_code == 204
        elif how == "passwd":
            w.ops.set_password("ann", hash_password(PASSWORD + "!"))
        else:
            w.ops.remove_user("ann")
        _ended(reader)
    finally:
        reader.close()


def test_session_expiring_ends_its_open_feed(served: tuple[World, ApiServer]) -> None:
    w, server = served
    sid = w.session(w.user("ann", "viewer"), ttl_s=300.0)
    reader = open_reader(server.url, {"Cookie": f"vigil_session={sid}"})
    try:
        w.clock.advance(301.0)
        _ended(reader)
    finally:
        reader.close()


def test_database_failure_ends_the_feed_cleanly(served: tuple[World, ApiServer]) -> None:
    # before, the StorageError escaped the generator: a broken chunked body and a traceback
    w, server = served
    reader = open_reader(server.url, bearer(w.token("wall", "viewer")))
    good, good_read = w.store.engine, w.store._read_engine
    dead_url = (
        "postgresql+psycopg://postgres@127.0.0.1:9/test?connect_timeout=2"
        if w.store.dialect == "postgresql"
        else f"sqlite:///{w.media_dir / 'no-such-dir' / 'x.db'}"
    )
    dead = make_engine(StorageConfig(database_url=dead_url, media_dir=str(w.media_dir)))
    try:
        w.store.engine = w.store._read_engine = dead
        _ended(reader)
    finally:
        w.store.engine, w.store._read_engine = good, good_read
        dead.dispose()
        reader.close()
