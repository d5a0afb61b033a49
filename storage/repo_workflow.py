"""The operator workflow of an incident (separate from the detector's open/closed lifecycle).

States ``new -> acknowledged / investigating -> resolved``; every action appends an audit row,
an outbox row on the actions topic and a live-feed event, all in the caller's transaction.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from storage import messages
from storage.errors import StorageError
from storage.message_models import ActionMessage, ActionName, WorkflowPart
from storage.models import CameraSnoozeRow, Incident, WorkflowActionRow, WorkflowRow
from storage.repo_history import latest_reports
from storage.repo_live import add_live_event
from storage.repo_outbox import add_outbox_row


class WorkflowState(enum.StrEnum):
    """Where the operators stand on an incident."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    INVESTIGATING = "investigating"
    RESOLVED = "resolved"


class Disposition(enum.StrEnum):
    """What a resolved incident turned out to be (the label detectors learn from)."""

    TRUE_ALARM = "true_alarm"
    FALSE_ALARM = "false_alarm"
    TEST = "test"
    NUISANCE = "nuisance"


class Action(enum.StrEnum):
    """An operator (or system) action on an incident."""

    ACKNOWLEDGE = "acknowledge"
    INVESTIGATE = "investigate"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    NOTE = "note"
    ASSIGN = "assign"
    ESCALATE = "escalate"


#: The states an action may start from (NOTE and ESCALATE: any).
ALLOWED_FROM: dict[Action, frozenset[WorkflowState]] = {
    Action.ACKNOWLEDGE: frozenset({WorkflowState.NEW, WorkflowState.INVESTIGATING}),
    Action.INVESTIGATE: frozenset({WorkflowState.NEW, WorkflowState.ACKNOWLEDGED}),
    Action.RESOLVE: frozenset(
        {WorkflowState.NEW, WorkflowState.ACKNOWLEDGED, WorkflowState.INVESTIGATING}
    ),
    Action.REOPEN: frozenset({WorkflowState.RESOLVED}),
    Action.ASSIGN: frozenset(
        {WorkflowState.NEW, WorkflowState.ACKNOWLEDGED, WorkflowState.INVESTIGATING}
    ),
    Action.NOTE: frozenset(WorkflowState),
    Action.ESCALATE: frozenset({WorkflowState.NEW}),
}

#: Longest note accepted (characters).
MAX_NOTE_CHARS = 4000


class WorkflowError(StorageError):
    """An action that does not apply (unknown incident, wrong state, missing field)."""

    def __init__(self, message: str, *, status: int = 409) -> None:
        super().__init__(message)
        #: the HTTP status the API answers with
        self.status = status


@dataclass(frozen=True, slots=True)
class WorkflowView:
    """An incident's workflow as it stands."""

    incident_id: str
    state: WorkflowState
    disposition: Disposition | None
    owner: str | None
    seq: int
    updated_ts_s: float | None
    escalated_ts_s: float | None

    def as_dict(self) -> dict[str, Any]:
        """The before/after form of the audit trail."""
        return {
            "state": self.state.value,
            "disposition": None if self.disposition is None else self.disposition.value,
            "owner": self.owner,
        }


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One row of an incident's audit trail."""

    seq: int
    ts_s: float
    actor: str
    action: str
    before: dict[str, Any]
    after: dict[str, Any]
    note: str | None


def workflow_view(session: Session, incident_id: str) -> WorkflowView:
    """The workflow of one incident (``new`` when nobody acted on it yet)."""
    return view_of(incident_id, session.get(WorkflowRow, incident_id))


def view_of(incident_id: str, row: WorkflowRow | None) -> WorkflowView:
    """The workflow an already loaded row (None: no row yet, so ``new``) stands for; a list
    query outer-joins the rows of its page instead of asking once per incident."""
    if row is None:
        return WorkflowView(incident_id, WorkflowState.NEW, None, None, 0, None, None)
    return WorkflowView(
        incident_id=incident_id,
        state=WorkflowState(row.state),
        disposition=None if row.disposition is None else Disposition(row.disposition),
        owner=row.owner,
        seq=row.seq,
        updated_ts_s=row.updated_ts_s,
        escalated_ts_s=row.escalated_ts_s,
    )


def audit_trail(session: Session, incident_id: str) -> list[AuditEntry]:
    """Every action on an incident, oldest first."""
    rows = session.scalars(
        select(WorkflowActionRow)
        .where(WorkflowActionRow.incident_id == incident_id)
        .order_by(WorkflowActionRow.seq)
    )
    return [
        AuditEntry(r.seq, r.ts_s, r.actor, r.action, dict(r.before), dict(r.after), r.note)
        for r in rows
    ]


def _next(
    before: WorkflowView,
    action: Action,
    *,
    actor: str,
    disposition: Disposition | None,
    owner: str | None,
) -> WorkflowView:
    """The workflow after ``action`` (raises ``WorkflowError`` where it does not apply)."""
    if before.state not in ALLOWED_FROM[action]:
        raise WorkflowError(
            f"incident {before.incident_id}: cannot {action.value} an incident that is "
            f"{before.state.value}"
        )
    state, disp, new_owner = before.state, before.disposition, before.owner
    if action is Action.ACKNOWLEDGE:
        state = WorkflowState.ACKNOWLEDGED
    elif action is Action.INVESTIGATE:
        state, new_owner = WorkflowState.INVESTIGATING, before.owner or actor
    elif action is Action.RESOLVE:
        if disposition is None:
            raise WorkflowError("resolve needs a disposition", status=422)
        state, disp = WorkflowState.RESOLVED, disposition
    elif action is Action.REOPEN:
        state, disp = WorkflowState.ACKNOWLEDGED, None
    elif action is Action.ASSIGN:
        new_owner = owner
    return WorkflowView(
        before.incident_id, state, disp, new_owner, before.seq + 1, None, before.escalated_ts_s
    )


def apply_action(
    session: Session,
    *,
    incident_id: str,
    action: Action,
    actor: str,
    now_s: float,
    note: str | None = None,
    disposition: Disposition | None = None,
    owner: str | None = None,
) -> AuditEntry:
    """Apply one action: workflow row, audit row, bus message and live event, or nothing.

    The incident row is locked first (PostgreSQL; SQLite serializes writers anyway), so
    concurrent actions on one incident apply one after the other, each on the state the
    previous one left: without it both read the same seq and one failed on the unique
    (incident_id, seq) of the audit trail.
    """
    incident = session.get(Incident, incident_id, with_for_update=True)
    if incident is None:
        raise WorkflowError(f"no incident {incident_id!r}", status=404)
    if note is not None and len(note) > MAX_NOTE_CHARS:
        raise WorkflowError(f"note is {len(note)} characters; at most {MAX_NOTE_CHARS}", status=422)
    if action is Action.NOTE and not (note or "").strip():
        raise WorkflowError("a note needs text", status=422)
    before = workflow_view(session, incident_id)
    after = _next(before, action, actor=actor, disposition=disposition, owner=owner)
    _store_view(session, after, now_s=now_s, escalated=action is Action.ESCALATE)
    entry = AuditEntry(
        after.seq, now_s, actor, action.value, before.as_dict(), after.as_dict(), note
    )
    session.add(
        WorkflowActionRow(
            incident_id=incident_id,
            seq=entry.seq,
            ts_s=now_s,
            actor=actor,
            action=action.value,
            before=entry.before,
            after=entry.after,
            note=note,
        )
    )
    _announce(session, incident, entry, now_s=now_s)
    return entry


def _store_view(session: Session, view: WorkflowView, *, now_s: float, escalated: bool) -> None:
    row = session.get(WorkflowRow, view.incident_id)
    if row is None:
        row = WorkflowRow(incident_id=view.incident_id, escalated_ts_s=None)
        session.add(row)
    row.state = view.state.value
    row.disposition = None if view.disposition is None else view.disposition.value
    row.owner = view.owner
    row.seq = view.seq
    row.updated_ts_s = now_s
    if escalated:
        row.escalated_ts_s = now_s


def _workflow_part(view: dict[str, Any]) -> WorkflowPart:
    return WorkflowPart.model_construct(
        state=view["state"], disposition=view["disposition"], owner=view["owner"]
    )


def build_action_message(incident: Incident, entry: AuditEntry) -> ActionMessage:
    """The bus message of one workflow action (actions topic), as a model (unvalidated)."""
    return ActionMessage.model_construct(
        schema_version=messages.SCHEMA_VERSION,
        incident_id=incident.id,
        version=entry.seq,
        camera_id=incident.camera_id,
        event_type=incident.event_type,
        action=cast(ActionName, entry.action),  # as stored, unchecked
        actor=entry.actor,
        ts=messages.iso_utc(entry.ts_s),
        before=_workflow_part(entry.before),
        after=_workflow_part(entry.after),
        note=entry.note,
    )


def action_message(incident: Incident, entry: AuditEntry) -> dict[str, Any]:
    """The bus message of one workflow action (actions topic)."""
    return build_action_message(incident, entry).model_dump()


def _announce(session: Session, incident: Incident, entry: AuditEntry, *, now_s: float) -> None:
    message = action_message(incident, entry)
    add_outbox_row(
        session,
        topic=messages.ACTIONS,
        key=incident.camera_id,
        incident_id=incident.id,
        version=entry.seq,
        message=message,
        now_s=now_s,
    )
    kind = "escalation" if entry.action == Action.ESCALATE.value else f"workflow.{entry.action}"
    add_live_event(
        session,
        kind=kind,
        camera_id=incident.camera_id,
        incident_id=incident.id,
        payload=message,
        now_s=now_s,
    )


def snooze_camera(
    session: Session, *, camera_id: str, until_ts_s: float, actor: str, now_s: float
) -> None:
    """Hold back a camera's alerts until ``until_ts_s`` (replaces an earlier snooze)."""
    row = session.get(CameraSnoozeRow, camera_id)
    if row is None:
        session.add(
            CameraSnoozeRow(
                camera_id=camera_id, until_ts_s=until_ts_s, actor=actor, created_ts_s=now_s
            )
        )
    else:
        row.until_ts_s, row.actor, row.created_ts_s = until_ts_s, actor, now_s
    add_live_event(
        session,
        kind="camera.snoozed",
        camera_id=camera_id,
        incident_id=None,
        payload={"camera_id": camera_id, "until": messages.iso_utc(until_ts_s), "actor": actor},
        now_s=now_s,
    )


def snoozed_until(session: Session, *, camera_id: str, now_s: float) -> float | None:
    """When the camera's snooze ends, or None if it is not snoozed now."""
    row = session.get(CameraSnoozeRow, camera_id)
    return row.until_ts_s if row is not None and row.until_ts_s > now_s else None


def due_for_escalation(
    session: Session, *, after_s_by_severity: dict[str, float], now_s: float
) -> list[str]:
    """Ids of incidents nobody acted on (still ``new``, never escalated) past their delay.

    Incidents of a snoozed camera do not escalate while the snooze lasts.

    ``after_s_by_severity`` maps a severity (of the incident's newest report) to the seconds
    an incident may stay ``new``; severities not named never escalate.
    """
    if not after_s_by_severity:
        return []
    stmt = (
        select(Incident.id, Incident.opened_ts_s)
        .outerjoin(WorkflowRow, WorkflowRow.incident_id == Incident.id)
        .outerjoin(CameraSnoozeRow, CameraSnoozeRow.camera_id == Incident.camera_id)
        .where(WorkflowRow.incident_id.is_(None))
        .where(Incident.opened_ts_s <= now_s - min(after_s_by_severity.values()))
        .where(or_(CameraSnoozeRow.until_ts_s.is_(None), CameraSnoozeRow.until_ts_s <= now_s))
    )
    candidates = list(session.execute(stmt))
    severities = latest_reports(session, [c[0] for c in candidates])
    due: list[str] = []
    for incident_id, opened in candidates:
        severity = severities.get(incident_id, (None, None))[0]
        limit = after_s_by_severity.get(str(severity)) if severity is not None else None
        if limit is not None and opened <= now_s - limit:
            due.append(incident_id)
    return due
