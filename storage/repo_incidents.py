"""Cameras, incident updates (timeline), crash recovery and operator feedback.

Like every ``storage.repo_*`` module these functions never commit: the caller owns the
transaction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from detectors.types import IncidentStatus, IncidentUpdate, ScorePoint, UpdateKind
from reports.types import Report
from storage import messages
from storage.models import (
    Camera,
    Feedback,
    Incident,
    IncidentUpdateRow,
)
from storage.records import MediaRef, ReportRecord
from storage.repo_live import add_incident_event
from storage.repo_media import media_refs
from storage.repo_outbox import add_outbox_row
from storage.repo_reports import add_report_outbox, insert_report, latest_report

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
    inc = _upsert_incident(session, update=update)
    session.add(_update_row(update, cues))
    session.flush()
    new_report = None if report is None else insert_report(session, report=report, now_s=now_s)
    media = media_refs(session, incident_id=update.incident_id)
    _add_incident_outbox(
        session, update=update, incident=inc, report=new_report, media=media, now_s=now_s
    )
    add_incident_event(session, update=update, status=inc.status, now_s=now_s)
    if new_report is not None:
        add_report_outbox(session, report=new_report, incident=inc, media=media, now_s=now_s)
    return True


def _upsert_incident(session: Session, *, update: IncidentUpdate) -> Incident:
    """The incident row (locked), created or moved forward to ``update``."""
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
    return inc


def _update_row(update: IncidentUpdate, cues: dict[str, float]) -> IncidentUpdateRow:
    """The timeline row of one update (status: the detector's lifecycle status)."""
    return IncidentUpdateRow(
        incident_id=update.incident_id,
        version=update.version,
        kind=update.kind.value,
        ts_s=update.ts_s,
        status=update.status.value,
        score=update.score,
        peak_score=update.peak_score,
        mean_score=update.mean_score,
        zone=update.zone,
        closed_ts_s=update.closed_ts_s,
        close_reason=update.close_reason,
        cues=cues,
        timeline=[[p.ts_s, p.score] for p in update.timeline],
    )


def _add_incident_outbox(
    session: Session,
    *,
    update: IncidentUpdate,
    incident: Incident,
    report: ReportRecord | None,
    media: Sequence[MediaRef],
    now_s: float,
) -> None:
    """The incidents-topic outbox row of one update (with the newest report, if any)."""
    latest = report or latest_report(session, incident_id=update.incident_id)
    camera_name = session.scalar(select(Camera.name).where(Camera.id == update.camera_id))
    msg = messages.incident_message(
        update=update,
        status=incident.status,
        camera_name=camera_name or update.camera_id,
        report=latest,
        media=media,
    )
    add_outbox_row(
        session,
        topic=messages.INCIDENTS,
        key=update.camera_id,
        incident_id=update.incident_id,
        version=update.version,
        message=msg,
        now_s=now_s,
    )


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
