"""The live feed over a real uvicorn server: resume with Last-Event-ID, camera scope."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from api_kit import World, bearer, free_port, open_world
from sse_kit import SseReader, open_reader, wait_events

from storage.repo_workflow import Action
from tests.support.wait import wait_until
from vigil.api.server import ApiServer

pytestmark = pytest.mark.timeout(60)


def test_reconnect_with_last_event_id_gets_every_missed_event_once(
    served: tuple[World, ApiServer],
) -> None:
    w, server = served
    w.record(camera_id="cam-b")  # before the first connection: not part of a new feed
    tok = bearer(w.token("wall", "viewer"))
    first = open_reader(server.url, tok)
    for cam in ("cam-a", "cam-b", "cam-a"):
        w.record(camera_id=cam)
    wait_events(first, 3)
    first.close()
    wait_until(lambda: server.app.state.vigil.sse_clients[0] == 0, timeout_s=20, what="disconnect")
    assert [e.kind for e in first.events] == ["incident.opened"] * 3
    seen = [e.id for e in first.events]
    missed = [w.record(camera_id=c) for c in ("cam-b", "cam-a", "cam-b", "cam-a")]
    w.ops.act(missed[0], Action.ACKNOWLEDGE, actor="ann")
    second = open_reader(server.url, {**tok, "Last-Event-ID": str(seen[-1])})
    try:
        wait_events(second, 5)
        marker = w.record(camera_id="cam-a")  # after it, nothing else may arrive
        wait_until(
            lambda: any(e.data.get("incident_id") == marker for e in second.events),
            timeout_s=20,
            what="marker",
        )
        ids = seen + [e.id for e in second.events]
        assert ids == sorted(set(ids)), "events out of order or repeated"
        stored = [e.id for e in w.ops.events_after(seen[0] - 1, cameras=None)]
        assert ids == stored, "an event was missed"
        kinds = [e.kind for e in second.events]
        assert kinds == ["incident.opened"] * 4 + ["workflow.acknowledge", "incident.opened"]
        assert second.events[4].data["incident_id"] == missed[0]
        assert second.events[4].data["version"] == 1
    finally:
        second.close()


def test_after_query_resumes_like_last_event_id(served: tuple[World, ApiServer]) -> None:
    w, server = served
    tok = bearer(w.token("wall", "viewer"))
    incs = [w.record() for _ in range(3)]
    events = w.ops.events_after(0, cameras=None)
    reader = open_reader(server.url, tok, after=str(events[0].id))
    try:
        wait_events(reader, 2)
        assert [e.data["incident_id"] for e in reader.events] == incs[1:]
    finally:
        reader.close()


def test_scoped_token_never_sees_other_cameras(served: tuple[World, ApiServer]) -> None:
    w, server = served
    only_a = open_reader(server.url, bearer(w.token("a-only", "viewer", ["cam-a"])))
    every = open_reader(server.url, bearer(w.token("all", "viewer")))
    try:
        made = []
        for cam in ("cam-b", "cam-a", "cam-b", "cam-b", "cam-a"):
            made.append((cam, w.record(camera_id=cam)))
        w.ops.snooze("cam-b", minutes=5, actor="ann")
        b_inc = made[0][1]
        w.ops.act(b_inc, Action.ACKNOWLEDGE, actor="ann")
        marker = w.record(camera_id="cam-a")
        for r in (only_a, every):
            wait_until(
                lambda r=r: any(e.data.get("incident_id") == marker for e in r.events),
                timeout_s=20,
                what="marker",
            )
        assert {e.data.get("camera_id") for e in only_a.events} == {"cam-a"}
        assert [e.data["incident_id"] for e in only_a.events] == [
            i for c, i in made if c == "cam-a"
        ] + [marker]
        assert len(every.events) == 8  # 5 incidents, the snooze, the action, the marker
    finally:
        only_a.close()
        every.close()


def test_feed_needs_credentials_and_garbage_resume_id_starts_now(
    served: tuple[World, ApiServer],
) -> None:
    w, server = served
    w.record()
    r = SseReader(server.url, {}).start()
    wait_until(lambda: r.status is not None or r.error, timeout_s=20, what="an answer")
    r.close()
    assert r.status == 401
    tok = bearer(w.token("wall", "viewer"))
    reader = open_reader(server.url, {**tok, "Last-Event-ID": "not-a-number"})
    try:
        inc = w.record()
        wait_events(reader, 1)
        assert [e.data["incident_id"] for e in reader.events] == [inc]
    finally:
        reader.close()


def test_stop_closes_open_feeds(db_url: str, tmp_path: Path) -> None:
    w = open_world(db_url, tmp_path, bind=f"127.0.0.1:{free_port()}")
    server = ApiServer(w.ops, w.config, media_dir=w.media_dir)
    server.start()
    try:
        reader = open_reader(server.url, bearer(w.token("wall", "viewer")))
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 5.0, "stop waited for an open live feed"
        wait_until(lambda: not reader._thread.is_alive(), timeout_s=10, what="the feed to end")
        reader.close()
    finally:
        server.stop()
        w.store.close()


@pytest.mark.parametrize("resume", ["9" * 32, "-5", "1e3", b"\xb2"])
def test_unusable_last_event_id_starts_now(
    served: tuple[World, ApiServer], resume: str | bytes
) -> None:
    # 32 digits overflowed the database query inside the stream; "²" (latin-1 0xb2) passed
    # str.isdigit and made int() raise: both broke the feed instead of starting it now
    w, server = served
    w.record()
    reader = open_reader(server.url, {**bearer(w.token("wall", "viewer")), "Last-Event-ID": resume})
    try:
        inc = w.record()
        wait_events(reader, 1)
        assert [e.data["incident_id"] for e in reader.events] == [inc]
    finally:
        reader.close()
