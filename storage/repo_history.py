"""History queries: incident lists, counts, one incident in full, id lookup."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reports.types import Severity
from storage.models import (
    Camera,
    Feedback,
    Incident,
    IncidentUpdateRow,
    ReportRow,
)
from storage.records import (
    FeedbackRecord,
    IncidentDetail,
    IncidentFilter,
    IncidentRecord,
    UpdateRecord,
)
from storage.repo_media import media_refs
from storage.repo_reports import report_record


def _filtered(stmt: Any, flt: IncidentFilter) -> Any:
    if flt.camera is not None:
        stmt = stmt.where(Incident.camera_id == flt.camera)
    if flt.event_type is not None:
        stmt = stmt.where(Incident.event_type == flt.event_type)
    if flt.status is not None:
        stmt = stmt.where(Incident.status == flt.status)
    if flt.since_ts_s is not None:
        stmt = stmt.where(Incident.opened_ts_s >= flt.since_ts_s)
    if flt.until_ts_s is not None:
        stmt = stmt.where(Incident.opened_ts_s < flt.until_ts_s)
    return stmt


def list_incidents(
    session: Session, flt: IncidentFilter, *, limit: int = 100, offset: int = 0
) -> list[IncidentRecord]:
    """Incidents matching ``flt``, newest first."""
    if limit < 0 or offset < 0:
        raise ValueError(f"limit and offset must be >= 0, got {limit} and {offset}")
    stmt = _filtered(
        select(Incident, Camera.name).join(Camera, Camera.id == Incident.camera_id), flt
    )
    stmt = stmt.order_by(Incident.opened_ts_s.desc(), Incident.id.desc()).limit(limit)
    if offset:
        stmt = stmt.offset(offset)
    rows = session.execute(stmt).all()
    latest = latest_reports(session, [inc.id for inc, _ in rows])
    return [incident_record(inc, name, latest.get(inc.id)) for inc, name in rows]


def count_incidents(session: Session, flt: IncidentFilter) -> int:
    """How many incidents ``list_incidents`` would page through."""
    stmt = _filtered(select(func.count()).select_from(Incident), flt)
    return int(session.scalar(stmt) or 0)


def latest_reports(session: Session, ids: list[str]) -> dict[str, tuple[str, str]]:
    """Severity and title of the newest report of each incident that has one."""
    if not ids:
        return {}
    rows = session.execute(
        select(ReportRow.incident_id, ReportRow.seq, ReportRow.severity, ReportRow.title)
        .where(ReportRow.incident_id.in_(ids))
        .order_by(ReportRow.incident_id, ReportRow.seq)
    ).all()
    return {r.incident_id: (r.severity, r.title) for r in rows}


def incident_record(
    inc: Incident, camera_name: str | None, report: tuple[str, str] | None
) -> IncidentRecord:
    """The read model of an incident row (with its newest report's severity and title)."""
    return IncidentRecord(
        incident_id=inc.id,
        camera_id=inc.camera_id,
        camera_name=camera_name or inc.camera_id,
        event_type=inc.event_type,
        status=inc.status,
        opened_ts_s=inc.opened_ts_s,
        closed_ts_s=inc.closed_ts_s,
        last_ts_s=inc.last_ts_s,
        score=inc.score,
        peak_score=inc.peak_score,
        mean_score=inc.mean_score,
        zone=inc.zone,
        version=inc.version,
        close_reason=inc.close_reason,
        severity=None if report is None else Severity(report[0]),
        title=None if report is None else report[1],
        offset_s=inc.onset_pts_s,
    )


def get_incident(session: Session, *, incident_id: str) -> IncidentDetail | None:
    """One incident with its timeline, reports (newest last), media and feedback."""
    row = session.execute(
        select(Incident, Camera.name)
        .join(Camera, Camera.id == Incident.camera_id)
        .where(Incident.id == incident_id)
    ).first()
    if row is None:
        return None
    inc, name = row
    reports = [
        report_record(r)
        for r in session.scalars(
            select(ReportRow).where(ReportRow.incident_id == incident_id).order_by(ReportRow.seq)
        )
    ]
    updates = [
        UpdateRecord(
            version=u.version,
            kind=u.kind,
            ts_s=u.ts_s,
            status=u.status,
            score=u.score,
            peak_score=u.peak_score,
            mean_score=u.mean_score,
            zone=u.zone,
            closed_ts_s=u.closed_ts_s,
            close_reason=u.close_reason,
            cues=dict(u.cues or {}),
            timeline=tuple((float(p[0]), float(p[1])) for p in (u.timeline or [])),
        )
        for u in session.scalars(
            select(IncidentUpdateRow)
            .where(IncidentUpdateRow.incident_id == incident_id)
            .order_by(IncidentUpdateRow.version)
        )
    ]
    feedback = [
        FeedbackRecord(ts_s=f.ts_s, action=f.action, operator=f.operator, note=f.note)
        for f in session.scalars(
            select(Feedback).where(Feedback.incident_id == incident_id).order_by(Feedback.id)
        )
    ]
    last = reports[-1] if reports else None
    return IncidentDetail(
        incident=incident_record(
            inc, name, None if last is None else (last.severity.value, last.title)
        ),
        updates=tuple(updates),
        reports=tuple(reports),
        media=tuple(media_refs(session, incident_id=incident_id)),
        feedback=tuple(feedback),
    )


def find_incident_ids(session: Session, *, prefix: str, limit: int = 10) -> list[str]:
    """Ids of incidents starting with ``prefix`` (an exact id first), at most ``limit``."""
    if session.get(Incident, prefix) is not None:
        return [prefix]
    stmt = (
        select(Incident.id)
        .where(Incident.id.startswith(prefix, autoescape=True))
        .order_by(Incident.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))
