"""The shift handover: incidents still open for the operators, those resolved lately, notes.

"Open" is the operators' workflow (any state but ``resolved``, including ``new`` incidents
nobody acted on), not the detector's open/closed lifecycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, Subquery, func, select
from sqlalchemy.orm import Session

from storage.models import Camera, Incident, WorkflowActionRow, WorkflowRow
from storage.records import IncidentRecord
from storage.repo_history import incident_record, latest_reports
from storage.repo_workflow import Action, AuditEntry, WorkflowState, WorkflowView, view_of


@dataclass(frozen=True, slots=True)
class HandoverItem:
    """One incident of a handover: its record, its workflow and the notes on it (oldest first)."""

    incident: IncidentRecord
    workflow: WorkflowView
    notes: tuple[AuditEntry, ...]
    #: when the last resolve happened (None while not resolved)
    resolved_ts_s: float | None


@dataclass(frozen=True, slots=True)
class Handover:
    """What the next shift needs: open incidents, incidents resolved since ``since_ts_s``."""

    since_ts_s: float
    open: tuple[HandoverItem, ...]
    resolved: tuple[HandoverItem, ...]
    #: True when more open (or resolved) incidents exist than ``limit`` allowed
    truncated: bool


def _base(cameras: Sequence[str] | None) -> Select[Incident, str, WorkflowRow | None]:
    stmt: Select[Incident, str, WorkflowRow | None] = (
        select(Incident, Camera.name, WorkflowRow)
        .join(Camera, Camera.id == Incident.camera_id)
        .outerjoin(WorkflowRow, WorkflowRow.incident_id == Incident.id)
    )
    if cameras is not None:
        stmt = stmt.where(Incident.camera_id.in_(list(cameras)))
    return stmt


def _last_resolve() -> Subquery:
    return (
        select(WorkflowActionRow.incident_id, func.max(WorkflowActionRow.ts_s).label("ts_s"))
        .where(WorkflowActionRow.action == Action.RESOLVE.value)
        .group_by(WorkflowActionRow.incident_id)
        .subquery()
    )


def _notes(session: Session, ids: list[str]) -> dict[str, list[AuditEntry]]:
    out: dict[str, list[AuditEntry]] = {}
    if not ids:
        return out
    rows = session.scalars(
        select(WorkflowActionRow)
        .where(WorkflowActionRow.incident_id.in_(ids), WorkflowActionRow.note.is_not(None))
        .order_by(WorkflowActionRow.incident_id, WorkflowActionRow.seq)
    )
    for r in rows:
        entry = AuditEntry(r.seq, r.ts_s, r.actor, r.action, dict(r.before), dict(r.after), r.note)
        out.setdefault(r.incident_id, []).append(entry)
    return out


def handover(
    session: Session, *, since_ts_s: float, cameras: Sequence[str] | None, limit: int = 500
) -> Handover:
    """Open incidents (newest first) and those resolved at or after ``since_ts_s``, each at most
    ``limit``, of ``cameras`` (None: all), with their notes.

    Four statements whatever the count: open and resolved incidents (workflow rows
    outer-joined), then the newest reports and the notes of all of them.
    """
    state = func.coalesce(WorkflowRow.state, WorkflowState.NEW.value)
    open_rows = session.execute(
        _base(cameras)
        .where(state != WorkflowState.RESOLVED.value)
        .order_by(Incident.opened_ts_s.desc(), Incident.id.desc())
        .limit(limit + 1)
    ).all()
    last = _last_resolve()
    resolved_rows = session.execute(
        _base(cameras)
        .add_columns(last.c.ts_s)
        .join(last, last.c.incident_id == Incident.id)
        .where(state == WorkflowState.RESOLVED.value, last.c.ts_s >= since_ts_s)
        .order_by(last.c.ts_s.desc(), Incident.id.desc())
        .limit(limit + 1)
    ).all()
    truncated = len(open_rows) > limit or len(resolved_rows) > limit
    open_rows, resolved_rows = open_rows[:limit], resolved_rows[:limit]
    ids = [r[0].id for r in open_rows] + [r[0].id for r in resolved_rows]
    reports, notes = latest_reports(session, ids), _notes(session, ids)

    def item(
        inc: Incident, name: str, wf: WorkflowRow | None, resolved: float | None
    ) -> HandoverItem:
        rec = incident_record(inc, name, reports.get(inc.id))
        view = view_of(inc.id, wf)
        return HandoverItem(rec, view, tuple(notes.get(inc.id, ())), resolved)

    return Handover(
        since_ts_s=since_ts_s,
        open=tuple(item(inc, name, wf, None) for inc, name, wf in open_rows),
        resolved=tuple(item(inc, name, wf, ts) for inc, name, wf, ts in resolved_rows),
        truncated=truncated,
    )
