"""Incidents: the filtered list, one incident in full, export, media files."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import FileResponse, StreamingResponse

from storage.records import IncidentFilter
from storage.repo_browse import BadCursor, BrowseQuery, encode_cursor
from storage.repo_workflow import WorkflowState
from vigil.api.deps import IncidentId, MediaId, State, Viewer, check_camera
from vigil.api.schemas import (
    NO_NUL,
    AuditOut,
    IncidentDetailOut,
    IncidentOut,
    IncidentPage,
    MediaOut,
    NeighboursOut,
    ReportOut,
    TimelineOut,
)

router = APIRouter(prefix="/api", tags=["incidents"])

#: Most rows one export returns.
EXPORT_MAX_ROWS = 100_000


def _ts(at: datetime | None) -> float | None:
    """Unix seconds of a filter time; one without an offset is UTC (not the server's zone)."""
    if at is None:
        return None
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).timestamp()


Camera = Annotated[str | None, Query(max_length=64, pattern=NO_NUL, description="Camera id.")]
EventType = Annotated[
    str | None, Query(alias="type", max_length=32, pattern=NO_NUL, description="Event type.")
]
Status = Annotated[
    str | None,
    Query(
        alias="status", max_length=16, pattern=NO_NUL, description="Detector status (open, closed)."
    ),
]
StateQ = Annotated[WorkflowState | None, Query(description="Workflow state.")]
Severity = Annotated[
    Literal["low", "medium", "high", "critical"] | None,
    Query(description="Newest report's severity."),
]
Zone = Annotated[str | None, Query(max_length=128, pattern=NO_NUL)]
Since = Annotated[
    datetime | None, Query(description="Opened at or after (ISO 8601; no offset: UTC).")
]
Until = Annotated[datetime | None, Query(description="Opened before (ISO 8601; no offset: UTC).")]
Sort = Annotated[Literal["newest", "oldest"], Query()]


def browse_filters(
    principal: Viewer,
    camera: Camera = None,
    event_type: EventType = None,
    status_: Status = None,
    workflow: StateQ = None,
    severity: Severity = None,
    zone: Zone = None,
    since: Since = None,
    until: Until = None,
    sort: Sort = "newest",
) -> BrowseQuery:
    """The filters the list and the export share, within the caller's cameras."""
    return BrowseQuery(
        where=IncidentFilter(
            camera=camera,
            event_type=event_type,
            status=status_,
            since_ts_s=_ts(since),
            until_ts_s=_ts(until),
        ),
        cameras=principal.cameras,
        workflow_state=None if workflow is None else workflow.value,
        severity=severity,
        zone=zone,
        sort=sort,
    )


Filters = Annotated[BrowseQuery, Depends(browse_filters)]


@router.get("/incidents", response_model=IncidentPage)
def list_incidents(
    state: State,
    filters: Filters,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> IncidentPage:
    """Incidents the caller may see, filtered, sorted, one page at a time."""
    q = dataclasses.replace(filters, limit=limit, cursor=cursor)
    try:
        page, nxt = state.ops.browse(q)
    except BadCursor as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from None
    return IncidentPage(items=[IncidentOut.of(r, v) for r, v in page], next_cursor=nxt)


def _export_rows(state: State, q: BrowseQuery) -> Iterator[IncidentOut]:
    sent = 0
    while sent < EXPORT_MAX_ROWS:
        page, nxt = state.ops.browse(q)
        for rec, view in page:
            yield IncidentOut.of(rec, view)
        sent += len(page)
        if nxt is None:
            return
        q = dataclasses.replace(q, cursor=nxt)


_CSV_FIELDS = [
    "id",
    "camera_id",
    "camera_name",
    "event_type",
    "status",
    "opened_at",
    "closed_at",
    "peak_score",
    "zone",
    "severity",
    "title",
    "workflow_state",
    "disposition",
    "owner",
]


#: First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection:
#: ``= + - @``, tab, carriage return; and the full-width forms some spreadsheets accept).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell(value: str) -> str:
    """``value`` made safe for a spreadsheet: a leading formula character gets a ``'``."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv_row(r: IncidentOut) -> list[str]:
    cells = [
        r.id,
        r.camera_id,
        r.camera_name,
        r.event_type,
        r.status,
        r.opened_at.isoformat(),
        r.closed_at.isoformat() if r.closed_at else "",
        f"{r.peak_score:.3f}",
        r.zone or "",
        r.severity or "",
        r.title or "",
        r.workflow.state,
        r.workflow.disposition or "",
        r.workflow.owner or "",
    ]
    return [csv_cell(c) for c in cells]


def _csv(rows: Iterator[IncidentOut]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(_CSV_FIELDS)
    yield buf.getvalue()
    buf.seek(0)
    buf.truncate()
    for r in rows:
        writer.writerow(_csv_row(r))
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()


def _json(rows: Iterator[IncidentOut]) -> Iterator[str]:
    yield "["
    for i, r in enumerate(rows):
        yield ("," if i else "") + r.model_dump_json()
    yield "]\n"


@router.get("/incidents/export")
def export_incidents(
    state: State,
    filters: Filters,
    format: Annotated[Literal["csv", "json"], Query()] = "csv",
) -> StreamingResponse:
    """Every incident the filters select (at most 100,000), as CSV or a JSON array."""
    q = dataclasses.replace(filters, limit=500, cursor=None)
    rows = _export_rows(state, q)
    if format == "csv":
        return StreamingResponse(
            _csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="incidents.csv"'},
        )
    return StreamingResponse(
        _json(rows),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="incidents.json"'},
    )


def _not_found(incident_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no incident {incident_id!r}")


@router.get("/incidents/{incident_id}", response_model=IncidentDetailOut)
def get_incident(incident_id: IncidentId, principal: Viewer, state: State) -> IncidentDetailOut:
    """One incident with timeline, reports, workflow history, media and procedure."""
    found = state.ops.incident(incident_id)
    if found is None or not principal.can_see(found[0].incident.camera_id):
        raise _not_found(incident_id)
    detail, view, trail = found
    base = IncidentOut.of(detail.incident, view)
    return IncidentDetailOut(
        **base.model_dump(),
        timeline=[TimelineOut.of(u) for u in detail.updates],
        reports=[ReportOut.of(r) for r in detail.reports],
        media=[MediaOut.of(i, m) for i, m in state.ops.media_ids(incident_id)],
        history=[AuditOut.of(e) for e in trail],
        procedure=state.config.api.procedure(detail.incident.event_type, detail.incident.zone),
    )


@router.get("/incidents/{incident_id}/neighbours", response_model=NeighboursOut)
def get_neighbours(incident_id: IncidentId, principal: Viewer, state: State) -> NeighboursOut:
    """The previous and next incident by opened time, of the caller's cameras only."""
    found = state.ops.incident(incident_id)
    if found is None or not principal.can_see(found[0].incident.camera_id):
        raise _not_found(incident_id)
    rec = found[0].incident
    at = encode_cursor(rec.opened_ts_s, rec.incident_id)

    def step(sort: Literal["newest", "oldest"]) -> str | None:
        q = BrowseQuery(cameras=principal.cameras, sort=sort, limit=1, cursor=at)
        page, _ = state.ops.browse(q)
        return page[0][0].incident_id if page else None

    return NeighboursOut(prev=step("newest"), next=step("oldest"))


@router.get("/media/{media_id}", response_class=FileResponse)
def get_media(media_id: MediaId, principal: Viewer, state: State) -> FileResponse:
    """A keyframe or clip by its id (HTTP range requests work for clips)."""
    found = state.ops.media(media_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no media {media_id}")
    ref, camera_id = found
    check_camera(principal, camera_id)
    root = state.media_dir.resolve()
    path = (root / ref.path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"media {media_id} is not on disk")
    return FileResponse(path, media_type=ref.content_type)
