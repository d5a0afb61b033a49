"""Typed, keyword-only repository functions over a SQLAlchemy ``Session``.

They never commit: the caller (``storage.store.Store``) owns the transaction, so an incident
change, its report and the outbox rows announcing them commit together or not at all.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from detectors.types import IncidentStatus, IncidentUpdate, ScorePoint, UpdateKind
from reports.types import Report, Severity
from storage import messages
from storage.models import (
    Camera,
    Feedback,
    Incident,
    IncidentUpdateRow,
    MediaRow,
    OutboxRow,
    ReportRow,
)
from storage.records import (
    FeedbackRecord,
    IncidentDetail,
    IncidentFilter,
    IncidentRecord,
    MediaRef,
    OutboxMessage,
    ReportRecord,
    StoredMedia,
    UpdateRecord,
)

#: Statuses set by the detector; the others are set by operators and survive later updates.
_LIFECYCLE = (IncidentStatus.OPEN.value, IncidentStatus.CLOSED.value)

#: Operator actions and the status each one sets (None: lifecycle status; "": unchanged).
FEEDBACK_ACTIONS: dict[str, str | None] = {
    "acknowledge": IncidentStatus.ACKNOWLEDGED.value,
    "resolve": IncidentStatus.RESOLVED.value,
    "false_alarm": IncidentStatus.FALSE_ALARM.value,
    "reopen": None,
    "comment": "",
}


# --- cameras -------------------------------------------------------------------------------


def upsert_camera(
    session: Session,
    *,
    camera_id: str,
    name: str,
    location: str | None,
    url_masked: str,
    now_s: float,
) -> None:
    """Insert the camera or update its name, location and (masked) URL."""
    cam = session.get(Camera, camera_id)
    if cam is None:
        session.add(
            Camera(
                id=camera_id,
                name=name,
                location=location,
                url_masked=url_masked,
                created_ts_s=now_s,
                updated_ts_s=now_s,
            )
        )
    elif (cam.name, cam.location, cam.url_masked) != (name, location, url_masked):
        cam.name, cam.location, cam.url_masked = name, location, url_masked
        cam.updated_ts_s = now_s


def camera_exists(session: Session, *, camera_id: str) -> bool:
    """True if the camera is registered."""
    return session.get(Camera, camera_id) is not None


# --- incidents, timeline, reports ---------------------------------------------------------


def update_exists(session: Session, *, incident_id: str, version: int) -> bool:
    """True if this ``(incident_id, version)`` is already stored."""
    found = session.scalar(
        select(IncidentUpdateRow.id).where(
            IncidentUpdateRow.incident_id == incident_id, IncidentUpdateRow.version == version
        )
    )
    return found is not None


def record_update(
    session: Session,
    *,
    update: IncidentUpdate,
    report: Report | None,
    now_s: float,
) -> bool:
    """Store one incident update (+ report) and its outbox rows. False if already stored.

    The incident row only moves forward (a higher ``version``); operator statuses
    (acknowledged, resolved, false alarm) survive later detector updates.
    """
    if report is not None and report.incident_id != update.incident_id:
        raise ValueError(
            f"report for incident {report.incident_id!r} passed with update of "
            f"{update.incident_id!r}"
        )
    _check_finite(update)
    if update_exists(session, incident_id=update.incident_id, version=update.version):
        return False
    cues = messages.cues_dict(update.cues)
    lifecycle = update.status.value
    inc = session.get(Incident, update.incident_id, with_for_update=True)
    if inc is None:
        inc = Incident(id=update.incident_id, status=lifecycle, version=update.version)
        _apply(inc, update)
        session.add(inc)
    elif update.version > inc.version:
        if inc.camera_id != update.camera_id:
            raise ValueError(
                f"incident {update.incident_id!r} belongs to camera {inc.camera_id!r}, "
                f"update {update.version} says {update.camera_id!r}"
            )
        _apply(inc, update)
        inc.version = update.version
        if inc.status in _LIFECYCLE:
            inc.status = lifecycle
    session.add(
        IncidentUpdateRow(
            incident_id=update.incident_id,
            version=update.version,
            kind=update.kind.value,
            ts_s=update.ts_s,
            status=lifecycle,
            score=update.score,
            peak_score=update.peak_score,
            mean_score=update.mean_score,
            zone=update.zone,
            closed_ts_s=update.closed_ts_s,
            close_reason=update.close_reason,
            cues=cues,
            timeline=[[p.ts_s, p.score] for p in update.timeline],
        )
    )
    session.flush()
    new_report = None if report is None else _insert_report(session, report=report, now_s=now_s)
    latest = new_report or _latest_report(session, incident_id=update.incident_id)
    media = media_refs(session, incident_id=update.incident_id)
    camera_name = session.scalar(select(Camera.name).where(Camera.id == update.camera_id))
    msg = messages.incident_message(
        update=update,
        status=inc.status,
        camera_name=camera_name or update.camera_id,
        report=latest,
        media=media,
    )
    _add_outbox(
        session,
        topic=messages.INCIDENTS,
        key=update.camera_id,
        incident_id=update.incident_id,
        version=update.version,
        message=msg,
        now_s=now_s,
    )
    if new_report is not None:
        _add_report_outbox(session, report=new_report, incident=inc, media=media, now_s=now_s)
    return True


def _check_finite(update: IncidentUpdate) -> None:
    values = {
        "ts_s": update.ts_s,
        "opened_ts_s": update.opened_ts_s,
        "closed_ts_s": 0.0 if update.closed_ts_s is None else update.closed_ts_s,
        "score": update.score,
        "peak_score": update.peak_score,
        "mean_score": update.mean_score,
        "onset_pts_s": update.onset_pts_s,
    }
    values.update({f"timeline[{i}]": p.score + p.ts_s for i, p in enumerate(update.timeline)})
    bad = [k for k, v in values.items() if not math.isfinite(v)]
    if bad:
        raise ValueError(
            f"incident {update.incident_id!r} version {update.version}: "
            f"{', '.join(bad)} must be finite numbers"
        )


def _apply(inc: Incident, update: IncidentUpdate) -> None:
    inc.camera_id = update.camera_id
    inc.event_type = update.event_type
    inc.opened_ts_s = update.opened_ts_s
    inc.closed_ts_s = update.closed_ts_s
    inc.last_ts_s = update.ts_s
    inc.score = update.score
    inc.peak_score = update.peak_score
    inc.mean_score = update.mean_score
    inc.zone = update.zone
    inc.onset_pts_s = update.onset_pts_s
    inc.close_reason = update.close_reason


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
    rec = _insert_report(session, report=report, now_s=now_s)
    media = media_refs(session, incident_id=report.incident_id)
    _add_report_outbox(session, report=rec, incident=inc, media=media, now_s=now_s)
    return rec.seq


def _insert_report(session: Session, *, report: Report, now_s: float) -> ReportRecord:
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
    return _report_record(row)


def _add_report_outbox(
    session: Session,
    *,
    report: ReportRecord,
    incident: Incident,
    media: Sequence[MediaRef],
    now_s: float,
) -> None:
    msg = messages.report_message(
        report=report,
        incident_id=incident.id,
        camera_id=incident.camera_id,
        event_type=incident.event_type,
        media=media,
    )
    _add_outbox(
        session,
        topic=messages.REPORTS,
        key=incident.camera_id,
        incident_id=incident.id,
        version=report.seq,
        message=msg,
        now_s=now_s,
    )


def _add_outbox(
    session: Session,
    *,
    topic: str,
    key: str,
    incident_id: str,
    version: int,
    message: dict[str, Any],
    now_s: float,
) -> None:
    session.add(
        OutboxRow(
            topic=topic,
            key=key,
            incident_id=incident_id,
            version=version,
            payload=messages.encode(message),
            created_ts_s=now_s,
            sent_ts_s=None,
            attempts=0,
        )
    )


def _latest_report(session: Session, *, incident_id: str) -> ReportRecord | None:
    row = session.scalars(
        select(ReportRow)
        .where(ReportRow.incident_id == incident_id)
        .order_by(ReportRow.seq.desc())
        .limit(1)
    ).first()
    return None if row is None else _report_record(row)


def _report_record(row: ReportRow) -> ReportRecord:
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


# --- crash recovery ------------------------------------------------------------------------


def interrupted_closes(session: Session, *, now_s: float, reason: str) -> list[IncidentUpdate]:
    """Close updates for every incident still open on camera (left by a process that died).

    Each closes at the incident's last known time, one version above its newest, with the
    cues and timeline of its newest update.
    """
    out: list[IncidentUpdate] = []
    for inc in session.scalars(
        select(Incident).where(Incident.closed_ts_s.is_(None)).order_by(Incident.opened_ts_s)
    ):
        last = session.scalars(
            select(IncidentUpdateRow)
            .where(IncidentUpdateRow.incident_id == inc.id)
            .order_by(IncidentUpdateRow.version.desc())
            .limit(1)
        ).first()
        out.append(
            IncidentUpdate(
                incident_id=inc.id,
                version=inc.version + 1,
                kind=UpdateKind.CLOSE,
                camera_id=inc.camera_id,
                event_type=inc.event_type,
                ts_s=max(now_s, inc.last_ts_s),
                opened_ts_s=inc.opened_ts_s,
                closed_ts_s=inc.last_ts_s,
                score=inc.score,
                peak_score=inc.peak_score,
                mean_score=inc.mean_score,
                zone=inc.zone,
                onset_pts_s=inc.onset_pts_s,
                cues=dict(last.cues or {}) if last is not None else {},
                timeline=tuple(
                    ScorePoint(float(p[0]), float(p[1]))
                    for p in ((last.timeline or []) if last is not None else [])
                ),
                close_reason=reason,
            )
        )
    return out


# --- operator feedback ---------------------------------------------------------------------


def add_feedback(
    session: Session,
    *,
    incident_id: str,
    action: str,
    operator: str | None,
    note: str | None,
    ts_s: float,
) -> str | None:
    """Record an operator action and apply its status; returns the new status (None: unknown
    incident). ``action`` is one of ``FEEDBACK_ACTIONS``."""
    if action not in FEEDBACK_ACTIONS:
        raise ValueError(
            f"unknown feedback action {action!r}; known: {', '.join(FEEDBACK_ACTIONS)}"
        )
    inc = session.get(Incident, incident_id, with_for_update=True)
    if inc is None:
        return None
    target = FEEDBACK_ACTIONS[action]
    if target is None:
        inc.status = (
            IncidentStatus.OPEN.value if inc.closed_ts_s is None else IncidentStatus.CLOSED.value
        )
    elif target:
        inc.status = target
    session.add(
        Feedback(incident_id=incident_id, ts_s=ts_s, action=action, operator=operator, note=note)
    )
    return inc.status


# --- history queries -----------------------------------------------------------------------


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
    latest = _latest_reports(session, [inc.id for inc, _ in rows])
    return [_incident_record(inc, name, latest.get(inc.id)) for inc, name in rows]


def count_incidents(session: Session, flt: IncidentFilter) -> int:
    """How many incidents ``list_incidents`` would page through."""
    stmt = _filtered(select(func.count()).select_from(Incident), flt)
    return int(session.scalar(stmt) or 0)


def _latest_reports(session: Session, ids: list[str]) -> dict[str, tuple[str, str]]:
    if not ids:
        return {}
    rows = session.execute(
        select(ReportRow.incident_id, ReportRow.seq, ReportRow.severity, ReportRow.title)
        .where(ReportRow.incident_id.in_(ids))
        .order_by(ReportRow.incident_id, ReportRow.seq)
    ).all()
    return {r.incident_id: (r.severity, r.title) for r in rows}


def _incident_record(
    inc: Incident, camera_name: str | None, report: tuple[str, str] | None
) -> IncidentRecord:
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
        _report_record(r)
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
        incident=_incident_record(
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


# --- media ---------------------------------------------------------------------------------


def add_media(session: Session, *, ref: MediaRef, now_s: float) -> bool:
    """Record a media file of an incident; False if its path is already recorded."""
    found = session.scalar(select(MediaRow.id).where(MediaRow.path == ref.path))
    if found is not None:
        return False
    session.add(
        MediaRow(
            incident_id=ref.incident_id,
            kind=ref.kind,
            path=ref.path,
            content_type=ref.content_type,
            ts_s=ref.ts_s,
            bytes=ref.bytes,
            width=ref.width,
            height=ref.height,
            duration_s=ref.duration_s,
            created_ts_s=now_s,
        )
    )
    return True


def _media_ref(m: MediaRow) -> MediaRef:
    return MediaRef(
        incident_id=m.incident_id,
        kind=m.kind,
        path=m.path,
        content_type=m.content_type,
        ts_s=m.ts_s,
        bytes=m.bytes,
        width=m.width,
        height=m.height,
        duration_s=m.duration_s,
    )


def media_refs(session: Session, *, incident_id: str) -> list[MediaRef]:
    """The media of one incident, oldest first."""
    rows = session.scalars(
        select(MediaRow).where(MediaRow.incident_id == incident_id).order_by(MediaRow.id)
    )
    return [_media_ref(m) for m in rows]


def media_for_retention(session: Session) -> list[StoredMedia]:
    """Every media row, oldest first, with whether its incident is still open."""
    rows = session.execute(
        select(MediaRow, Incident.closed_ts_s)
        .join(Incident, Incident.id == MediaRow.incident_id)
        .order_by(MediaRow.created_ts_s, MediaRow.id)
    ).all()
    return [
        StoredMedia(
            id=m.id, ref=_media_ref(m), created_ts_s=m.created_ts_s, incident_open=c is None
        )
        for m, c in rows
    ]


def delete_media_rows(session: Session, *, ids: Sequence[int]) -> None:
    """Forget media rows (their files are deleted by the media store)."""
    if ids:
        session.execute(delete(MediaRow).where(MediaRow.id.in_(list(ids))))


# --- outbox --------------------------------------------------------------------------------


def pending_outbox(session: Session, *, limit: int, after_id: int = 0) -> list[OutboxMessage]:
    """Unsent outbox rows with ``id > after_id``, oldest first."""
    rows = session.scalars(
        select(OutboxRow)
        .where(OutboxRow.sent_ts_s.is_(None), OutboxRow.id > after_id)
        .order_by(OutboxRow.id)
        .limit(limit)
    )
    return [
        OutboxMessage(
            id=r.id,
            topic=r.topic,
            key=r.key,
            incident_id=r.incident_id,
            version=r.version,
            payload=r.payload,
            attempts=r.attempts,
        )
        for r in rows
    ]


def mark_outbox_sent(session: Session, *, ids: Sequence[int], ts_s: float) -> None:
    """Mark outbox rows as delivered."""
    for chunk in _chunks(ids):
        session.execute(update(OutboxRow).where(OutboxRow.id.in_(chunk)).values(sent_ts_s=ts_s))


def mark_outbox_failed(session: Session, *, ids: Sequence[int], error: str) -> None:
    """Count a failed delivery attempt and keep the last error."""
    for chunk in _chunks(ids):
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.id.in_(chunk))
            .values(attempts=OutboxRow.attempts + 1, last_error=error[:2000])
        )


def last_outbox_id(session: Session) -> int:
    """The id of the newest outbox row (0 when empty)."""
    return int(session.scalar(select(func.max(OutboxRow.id))) or 0)


def outbox_backlog(session: Session) -> int:
    """How many outbox rows wait to be sent."""
    return int(
        session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.sent_ts_s.is_(None))
        )
        or 0
    )


def prune_outbox(session: Session, *, sent_before_s: float) -> int:
    """Delete rows sent before ``sent_before_s``; returns how many."""
    res = session.execute(
        delete(OutboxRow).where(
            OutboxRow.sent_ts_s.is_not(None), OutboxRow.sent_ts_s < sent_before_s
        )
    )
    return int(getattr(res, "rowcount", 0) or 0)


def _chunks(ids: Sequence[int], size: int = 500) -> list[list[int]]:
    items = list(ids)
    return [items[i : i + size] for i in range(0, len(items), size)]
