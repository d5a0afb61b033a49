"""The live feed: events kept in the database so a client resumes by id after a reconnect."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from detectors.types import IncidentUpdate, UpdateKind
from storage.models import LiveEventRow

#: Event kinds of the live feed.
INCIDENT_OPENED = "incident.opened"
INCIDENT_UPDATED = "incident.updated"
INCIDENT_CLOSED = "incident.closed"
ESCALATION = "escalation"
CAMERA_STATE = "camera.state"

_UPDATE_KINDS = {
    UpdateKind.OPEN: INCIDENT_OPENED,
    UpdateKind.UPDATE: INCIDENT_UPDATED,
    UpdateKind.CLOSE: INCIDENT_CLOSED,
}


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """One event of the live feed; ``id`` orders them and resumes a feed."""

    id: int
    ts_s: float
    kind: str
    camera_id: str | None
    incident_id: str | None
    payload: dict[str, Any]


def add_live_event(
    session: Session,
    *,
    kind: str,
    camera_id: str | None,
    incident_id: str | None,
    payload: dict[str, Any],
    now_s: float,
) -> None:
    """Append one event to the live feed (in the caller's transaction)."""
    session.add(
        LiveEventRow(
            ts_s=now_s, kind=kind, camera_id=camera_id, incident_id=incident_id, payload=payload
        )
    )


def add_incident_event(
    session: Session, *, update: IncidentUpdate, status: str, now_s: float
) -> None:
    """The live-feed event of one incident update."""
    add_live_event(
        session,
        kind=_UPDATE_KINDS[update.kind],
        camera_id=update.camera_id,
        incident_id=update.incident_id,
        payload={
            "incident_id": update.incident_id,
            "camera_id": update.camera_id,
            "event_type": update.event_type,
            "status": status,
            "version": update.version,
            "score": round(float(update.score), 4),
            "peak_score": round(float(update.peak_score), 4),
            "zone": update.zone,
            "opened_ts_s": update.opened_ts_s,
            "closed_ts_s": update.closed_ts_s,
            "close_reason": update.close_reason,
        },
        now_s=now_s,
    )


def live_events_after(
    session: Session,
    *,
    after_id: int,
    cameras: Sequence[str] | None,
    limit: int,
) -> list[LiveEvent]:
    """Events with an id above ``after_id``, oldest first; ``cameras`` None means all.

    Events without a camera (none today) go to every caller.
    """
    stmt = select(LiveEventRow).where(LiveEventRow.id > after_id)
    if cameras is not None:
        stmt = stmt.where(
            or_(LiveEventRow.camera_id.in_(list(cameras)), LiveEventRow.camera_id.is_(None))
        )
    rows = session.scalars(stmt.order_by(LiveEventRow.id).limit(limit))
    return [
        LiveEvent(
            id=r.id,
            ts_s=r.ts_s,
            kind=r.kind,
            camera_id=r.camera_id,
            incident_id=r.incident_id,
            payload=dict(r.payload or {}),
        )
        for r in rows
    ]


def last_live_event_id(session: Session) -> int:
    """The newest event id (0 when the feed is empty)."""
    return int(session.scalar(select(func.max(LiveEventRow.id))) or 0)


def prune_live_events(session: Session, *, before_s: float) -> int:
    """Delete events older than ``before_s``; returns how many."""
    result = session.execute(delete(LiveEventRow).where(LiveEventRow.ts_s < before_s))
    return int(getattr(result, "rowcount", 0) or 0)
