"""The operator service's incident list: every filter, the caller's cameras, keyset pages."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from storage.models import Camera, Incident, ReportRow, WorkflowRow
from storage.records import IncidentFilter, IncidentRecord
from storage.repo_history import incident_record, latest_reports
from storage.repo_workflow import WorkflowView, view_of

Sort = Literal["newest", "oldest"]


class BadCursor(ValueError):
    """A page cursor that this service did not hand out."""


@dataclass(frozen=True, slots=True)
class BrowseQuery:
    """Which incidents a page shows: the history filter plus the service's own filters."""

    where: IncidentFilter = field(default_factory=IncidentFilter)
    #: the caller's cameras (None: all); enforced, not a user filter
    cameras: Sequence[str] | None = None
    workflow_state: str | None = None
    severity: str | None = None
    zone: str | None = None
    sort: Sort = "newest"
    limit: int = 50
    cursor: str | None = None
    #: only these incidents (None: any)
    ids: Sequence[str] | None = None


def encode_cursor(opened_ts_s: float, incident_id: str) -> str:
    """An opaque cursor after the incident ``(opened_ts_s, incident_id)``."""
    raw = json.dumps([opened_ts_s, incident_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    """The position a cursor names; ``BadCursor`` if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        ts, incident_id = json.loads(raw)
        ts, incident_id = float(ts), str(incident_id)
        # cursors handed out hold a finite time and an id the database can compare
        if not math.isfinite(ts) or "\x00" in incident_id:
            raise ValueError("not a position in the list")
        return ts, incident_id
    except (ValueError, TypeError) as exc:
        raise BadCursor(f"cursor {cursor[:40]!r} is not a page cursor of this list") from exc


def _newest_severity() -> Any:
    newest = (
        select(ReportRow.incident_id, func.max(ReportRow.seq).label("seq"))
        .group_by(ReportRow.incident_id)
        .subquery()
    )
    return (
        select(ReportRow.incident_id, ReportRow.severity)
        .join(
            newest,
            (newest.c.incident_id == ReportRow.incident_id) & (newest.c.seq == ReportRow.seq),
        )
        .subquery()
    )


def _where(stmt: Any, q: BrowseQuery) -> Any:
    f = q.where
    conditions = [
        (f.camera, Incident.camera_id == f.camera),
        (f.event_type, Incident.event_type == f.event_type),
        (f.status, Incident.status == f.status),
        (f.since_ts_s, Incident.opened_ts_s >= (f.since_ts_s or 0)),
        (f.until_ts_s, Incident.opened_ts_s < (f.until_ts_s or 0)),
        (q.zone, Incident.zone == q.zone),
    ]
    for value, condition in conditions:
        if value is not None:
            stmt = stmt.where(condition)
    if q.cameras is not None:
        stmt = stmt.where(Incident.camera_id.in_(list(q.cameras)))
    if q.ids is not None:
        stmt = stmt.where(Incident.id.in_(list(q.ids)))
    if q.workflow_state is not None:
        state = func.coalesce(WorkflowRow.state, "new")
        stmt = stmt.where(state == q.workflow_state)
    if q.severity is not None:
        sev = _newest_severity()
        stmt = stmt.join(sev, sev.c.incident_id == Incident.id).where(sev.c.severity == q.severity)
    return stmt


def _after_cursor(stmt: Any, q: BrowseQuery) -> Any:
    if q.cursor is None:
        return stmt
    ts, incident_id = decode_cursor(q.cursor)
    if q.sort == "newest":
        return stmt.where(
            or_(
                Incident.opened_ts_s < ts,
                (Incident.opened_ts_s == ts) & (Incident.id < incident_id),
            )
        )
    return stmt.where(
        or_(Incident.opened_ts_s > ts, (Incident.opened_ts_s == ts) & (Incident.id > incident_id))
    )


def browse_incidents(
    session: Session, q: BrowseQuery
) -> tuple[list[tuple[IncidentRecord, WorkflowView]], str | None]:
    """One page of incidents with their workflow, and the cursor of the next page (or None).

    Two statements whatever the page size: the page (workflow rows outer-joined) and the
    newest reports of its incidents.
    """
    stmt = (
        select(Incident, Camera.name, WorkflowRow)
        .join(Camera, Camera.id == Incident.camera_id)
        .outerjoin(WorkflowRow, WorkflowRow.incident_id == Incident.id)
    )
    stmt = _after_cursor(_where(stmt, q), q)
    order = (
        (Incident.opened_ts_s.desc(), Incident.id.desc())
        if q.sort == "newest"
        else (Incident.opened_ts_s.asc(), Incident.id.asc())
    )
    rows = session.execute(stmt.order_by(*order).limit(q.limit + 1)).all()
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    latest = latest_reports(session, [inc.id for inc, _, _ in rows])
    page = [
        (incident_record(inc, name, latest.get(inc.id)), view_of(inc.id, wf))
        for inc, name, wf in rows
    ]
    nxt = encode_cursor(rows[-1][0].opened_ts_s, rows[-1][0].id) if more and rows else None
    return page, nxt
