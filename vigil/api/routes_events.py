"""The live feed: Server-Sent Events read from the database, resumable with ``Last-Event-ID``."""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from storage.errors import StorageError
from storage.repo_live import LiveEvent
from vigil.api.deps import MAX_DB_INT, Principal, State, Viewer, still_valid
from vigil.api.state import ApiState

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["live"])

#: How often the feed looks for new events, and sends a heartbeat when there were none.
POLL_S = 0.5
HEARTBEAT_S = 15.0
#: How often an open feed checks that its token or session still works (revoked, logged
#: out, password changed, expired: the feed ends, and the client's reconnect gets 401).
RECHECK_S = 2.0


def format_event(event: LiveEvent) -> str:
    """One event in SSE wire form."""
    data = json.dumps(
        {"id": event.id, "ts_s": event.ts_s, "kind": event.kind, **event.payload},
        separators=(",", ":"),
    )
    return f"id: {event.id}\nevent: {event.kind}\ndata: {data}\n\n"


async def _feed(
    request: Request, state: ApiState, principal: Principal, after: int
) -> AsyncIterator[str]:
    clients = state.sse_clients
    clients[0] += 1
    last_sent = checked = time.monotonic()
    yield f"retry: 2000\n: connected after {after}\n\n"
    try:
        while not state.stopping.is_set() and not await request.is_disconnected():
            if time.monotonic() - checked >= RECHECK_S:
                checked = time.monotonic()
                valid = functools.partial(still_valid, state, principal)
                if not await anyio.to_thread.run_sync(valid):
                    log.info(
                        "API: live feed of %s ended: its credentials no longer work",
                        principal.actor,
                    )
                    return
            events = await anyio.to_thread.run_sync(
                functools.partial(state.ops.events_after, after, cameras=principal.cameras)
            )
            for event in events:
                yield format_event(event)
                after = event.id
            if events:
                last_sent = time.monotonic()
                continue
            if time.monotonic() - last_sent >= HEARTBEAT_S:
                yield ": heartbeat\n\n"
                last_sent = time.monotonic()
            await anyio.sleep(POLL_S)
    except StorageError as exc:
        # end the response properly; the client reconnects with Last-Event-ID and
        # misses nothing (a raised error broke the stream and logged a traceback)
        log.warning("API: live feed ended: %s", exc)
    finally:
        clients[0] -= 1


@router.get("/events", response_class=StreamingResponse)
async def events(
    request: Request,
    state: State,
    principal: Viewer,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=32)] = None,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_DB_INT, description="Resume after this event id.")
    ] = None,
) -> StreamingResponse:
    """Incident, workflow, escalation and camera events for the caller's cameras.

    A client that reconnects with ``Last-Event-ID`` (browsers do) gets every event it missed,
    none twice; a new client starts with events from now on.
    """
    start = after
    resume = (last_event_id or "").strip()
    # only an id this feed could have sent (ASCII digits in range); anything else starts now
    if resume.isascii() and resume.isdigit() and int(resume) <= MAX_DB_INT:
        start = int(resume)
    if start is None:
        start = await anyio.to_thread.run_sync(state.ops.last_event_id)
    return StreamingResponse(
        _feed(request, state, principal, start),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
