"""What threshold calibration reads: dispositioned incidents with their peak score, and how
long each camera has been registered (the camera-hours the false alarms are counted over)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Camera, Incident, WorkflowRow
from storage.repo_workflow import Disposition

#: The dispositions calibration learns from (``test`` and ``nuisance`` say nothing of the
#: detector's accuracy).
CALIBRATION_DISPOSITIONS = (Disposition.TRUE_ALARM.value, Disposition.FALSE_ALARM.value)


@dataclass(frozen=True, slots=True)
class DispositionRecord:
    """A resolved incident an operator marked a true or a false alarm."""

    incident_id: str
    camera_id: str
    event_type: str
    peak_score: float
    disposition: str
    opened_ts_s: float


def dispositions(
    session: Session, *, since_ts_s: float | None = None, cameras: Sequence[str] | None = None
) -> list[DispositionRecord]:
    """Incidents opened since ``since_ts_s`` (None: ever) whose workflow holds a true or
    false alarm disposition, oldest first (``cameras``: only those)."""
    stmt = (
        select(
            Incident.id,
            Incident.camera_id,
            Incident.event_type,
            Incident.peak_score,
            WorkflowRow.disposition,
            Incident.opened_ts_s,
        )
        .join(WorkflowRow, WorkflowRow.incident_id == Incident.id)
        .where(WorkflowRow.disposition.in_(CALIBRATION_DISPOSITIONS))
        .order_by(Incident.opened_ts_s, Incident.id)
    )
    if since_ts_s is not None:
        stmt = stmt.where(Incident.opened_ts_s >= since_ts_s)
    if cameras is not None:
        stmt = stmt.where(Incident.camera_id.in_(list(cameras)))
    return [
        DispositionRecord(inc, cam, ev, float(peak), str(disp), float(opened))
        for inc, cam, ev, peak, disp, opened in session.execute(stmt)
    ]


def camera_hours(
    session: Session, *, now_s: float, since_ts_s: float | None = None
) -> dict[str, float]:
    """Hours from each camera's registration (or ``since_ts_s``, if later) to ``now_s``: an
    upper bound on the hours it watched (outages are not known here)."""
    out: dict[str, float] = {}
    for cam_id, created in session.execute(select(Camera.id, Camera.created_ts_s)):
        start = created if since_ts_s is None else max(created, since_ts_s)
        out[cam_id] = max(0.0, now_s - start) / 3600.0
    return out
