"""The shared incident workflow: acknowledge, investigate, resolve, notes, assign, snooze."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from storage.errors import StorageError
from storage.repo_workflow import Action, AuditEntry, Disposition, WorkflowError
from vigil.api.deps import CameraId, IncidentId, Operator, State
from vigil.api.schemas import (
    AssignIn,
    AuditOut,
    NoteIn,
    RequiredNoteIn,
    ResolveIn,
    SnoozeIn,
    SnoozeOut,
    iso,
)

router = APIRouter(prefix="/api", tags=["workflow"])


def _act(
    state: State,
    principal: Operator,
    incident_id: str,
    action: Action,
    *,
    note: str | None = None,
    disposition: Disposition | None = None,
    owner: str | None = None,
) -> AuditOut:
    found = state.ops.incident(incident_id)
    if found is None or not principal.can_see(found[0].incident.camera_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no incident {incident_id!r}")
    try:
        entry: AuditEntry = state.ops.act(
            incident_id,
            action,
            actor=principal.actor,
            note=note,
            disposition=disposition,
            owner=owner,
        )
    except WorkflowError as exc:
        raise HTTPException(exc.status, detail=str(exc)) from None
    except StorageError as exc:
        # refused whole: nothing of the action was stored
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail=f"not applied, retry: {exc}"
        ) from None
    return AuditOut.of(entry)


@router.post("/incidents/{incident_id}/acknowledge", response_model=AuditOut)
def acknowledge(
    incident_id: IncidentId, body: NoteIn, principal: Operator, state: State
) -> AuditOut:
    """Acknowledge an incident (someone is on it)."""
    return _act(state, principal, incident_id, Action.ACKNOWLEDGE, note=body.note)


@router.post("/incidents/{incident_id}/investigate", response_model=AuditOut)
def investigate(
    incident_id: IncidentId, body: NoteIn, principal: Operator, state: State
) -> AuditOut:
    """Claim an incident for investigation (the caller becomes owner if it has none)."""
    return _act(state, principal, incident_id, Action.INVESTIGATE, note=body.note)


@router.post("/incidents/{incident_id}/resolve", response_model=AuditOut)
def resolve(
    incident_id: IncidentId, body: ResolveIn, principal: Operator, state: State
) -> AuditOut:
    """Resolve an incident with a disposition (true alarm, false alarm, test, nuisance)."""
    return _act(
        state, principal, incident_id, Action.RESOLVE, note=body.note, disposition=body.disposition
    )


@router.post("/incidents/{incident_id}/reopen", response_model=AuditOut)
def reopen(incident_id: IncidentId, body: NoteIn, principal: Operator, state: State) -> AuditOut:
    """Reopen a resolved incident (back to acknowledged, disposition cleared)."""
    return _act(state, principal, incident_id, Action.REOPEN, note=body.note)


@router.post("/incidents/{incident_id}/notes", response_model=AuditOut)
def add_note(
    incident_id: IncidentId, body: RequiredNoteIn, principal: Operator, state: State
) -> AuditOut:
    """Add a note to an incident."""
    return _act(state, principal, incident_id, Action.NOTE, note=body.note)


@router.post("/incidents/{incident_id}/assign", response_model=AuditOut)
def assign(incident_id: IncidentId, body: AssignIn, principal: Operator, state: State) -> AuditOut:
    """Give an incident to an owner (``owner`` null: nobody)."""
    if body.owner is not None and state.ops.user_with_hash(body.owner) is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"no user {body.owner!r}")
    return _act(state, principal, incident_id, Action.ASSIGN, note=body.note, owner=body.owner)


@router.post("/cameras/{camera_id}/snooze", response_model=SnoozeOut)
def snooze(camera_id: CameraId, body: SnoozeIn, principal: Operator, state: State) -> SnoozeOut:
    """Hold back a camera's alerts for N minutes."""
    known = {c[0] for c in state.ops.cameras()}
    if camera_id not in known or not principal.can_see(camera_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no camera {camera_id!r}")
    until = state.ops.snooze(camera_id, minutes=body.minutes, actor=principal.actor)
    at = iso(until)
    assert at is not None
    return SnoozeOut(camera_id=camera_id, until=at)
