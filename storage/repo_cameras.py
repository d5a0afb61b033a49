"""Cameras added at run time (through the API) and the figures the metrics endpoint reads."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from storage.models import Incident, ReportRow, RuntimeCameraRow


def runtime_cameras(session: Session) -> list[tuple[str, dict[str, Any]]]:
    """Every runtime camera as (id, config), by id."""
    rows = session.scalars(select(RuntimeCameraRow).order_by(RuntimeCameraRow.id))
    return [(r.id, dict(r.config)) for r in rows]


def put_runtime_camera(
    session: Session, *, camera_id: str, config: dict[str, Any], now_s: float
) -> None:
    """Insert or replace a runtime camera's config."""
    row = session.get(RuntimeCameraRow, camera_id)
    if row is None:
        session.add(
            RuntimeCameraRow(id=camera_id, config=config, created_ts_s=now_s, updated_ts_s=now_s)
        )
    else:
        row.config = config
        row.updated_ts_s = now_s


def remove_runtime_camera(session: Session, *, camera_id: str) -> bool:
    """Forget a runtime camera; False if there was none."""
    res = session.execute(delete(RuntimeCameraRow).where(RuntimeCameraRow.id == camera_id))
    return bool(getattr(res, "rowcount", 0))


def incident_counts(session: Session) -> list[tuple[str, str, int]]:
    """(event_type, status, count) of every incident."""
    rows = session.execute(
        select(Incident.event_type, Incident.status, func.count()).group_by(
            Incident.event_type, Incident.status
        )
    )
    return [(str(t), str(s), int(n)) for t, s, n in rows]


def report_latency(session: Session) -> list[tuple[str, int, float, float]]:
    """(backend, count, mean latency_s, latency_s of the newest report) per report backend."""
    stats = session.execute(
        select(ReportRow.backend, func.count(), func.avg(ReportRow.latency_s)).group_by(
            ReportRow.backend
        )
    ).all()
    out = []
    for backend, n, mean in stats:
        last = session.scalar(
            select(ReportRow.latency_s)
            .where(ReportRow.backend == backend)
            .order_by(ReportRow.id.desc())
            .limit(1)
        )
        out.append((str(backend), int(n), float(mean or 0.0), float(last or 0.0)))
    return out
