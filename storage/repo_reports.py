"""Reports of incidents and the outbox rows announcing them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reports.types import Report, Severity
from storage import messages
from storage.models import (
    Incident,
    ReportRow,
)
from storage.records import (
    MediaRef,
    ReportRecord,
)
from storage.repo_media import media_refs
from storage.repo_outbox import add_outbox_row


def add_report(
    session: Session, *, report: Report, now_s: float, dedupe: bool = False
) -> int | None:
    """Store a later report of an incident and its outbox row; returns its ``seq``.

    None if the incident is unknown (the caller turns that into a clear error). With
    ``dedupe``, a report already stored (same incident version, backend, title and summary:
    a replay of the journal) is not stored again and its ``seq`` is returned.
    """
    inc = session.get(Incident, report.incident_id)
    if inc is None:
        return None
    if dedupe:
        seq = session.scalar(
            select(ReportRow.seq).where(
                ReportRow.incident_id == report.incident_id,
                ReportRow.incident_version == report.incident_version,
                ReportRow.backend == report.backend,
                ReportRow.title == report.title,
                ReportRow.summary == report.summary,
            )
        )
        if seq is not None:
            return int(seq)
    rec = insert_report(session, report=report, now_s=now_s)
    media = media_refs(session, incident_id=report.incident_id)
    add_report_outbox(session, report=rec, incident=inc, media=media, now_s=now_s)
    return rec.seq


def insert_report(session: Session, *, report: Report, now_s: float) -> ReportRecord:
    """Store a report as the next ``seq`` of its incident (no outbox row)."""
    last = session.scalar(
        select(func.max(ReportRow.seq)).where(ReportRow.incident_id == report.incident_id)
    )
    row = ReportRow(
        incident_id=report.incident_id,
        seq=(last or 0) + 1,
        incident_version=report.incident_version,
        title=report.title,
        summary=report.summary,
        severity=Severity(report.severity).value,
        action=report.action,
        backend=report.backend,
        model=report.model,
        latency_s=float(report.latency_s),
        fallback_used=bool(report.fallback_used),
        fallback_reason=report.fallback_reason,
        created_ts_s=now_s,
    )
    session.add(row)
    session.flush()
    return report_record(row)


def add_report_outbox(
    session: Session,
    *,
    report: ReportRecord,
    incident: Incident,
    media: Sequence[MediaRef],
    now_s: float,
) -> None:
    """Queue the reports-topic message of a stored report."""
    msg = messages.report_message(
        report=report,
        incident_id=incident.id,
        camera_id=incident.camera_id,
        event_type=incident.event_type,
        media=media,
    )
    add_outbox_row(
        session,
        topic=messages.REPORTS,
        key=incident.camera_id,
        incident_id=incident.id,
        version=report.seq,
        message=msg,
        now_s=now_s,
    )


def latest_report(session: Session, *, incident_id: str) -> ReportRecord | None:
    """The newest report of an incident, if any."""
    row = session.scalars(
        select(ReportRow)
        .where(ReportRow.incident_id == incident_id)
        .order_by(ReportRow.seq.desc())
        .limit(1)
    ).first()
    return None if row is None else report_record(row)


def report_record(row: ReportRow) -> ReportRecord:
    """A report row as a ``ReportRecord``."""
    return ReportRecord(
        seq=row.seq,
        incident_version=row.incident_version,
        title=row.title,
        summary=row.summary,
        severity=Severity(row.severity),
        action=row.action,
        backend=row.backend,
        model=row.model,
        latency_s=row.latency_s,
        fallback_used=row.fallback_used,
        fallback_reason=row.fallback_reason,
        created_ts_s=row.created_ts_s,
    )
