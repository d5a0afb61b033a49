"""API request and response models (separate from the table models and read models)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from storage.records import IncidentRecord, MediaRef, ReportRecord, UpdateRecord
from storage.repo_workflow import MAX_NOTE_CHARS, AuditEntry, Disposition, WorkflowView

#: Text without NUL characters: PostgreSQL cannot store or compare them, so a NUL in a
#: parameter would fail its query (503) instead of being the client's error (422).
NO_NUL = r"^[^\x00]*$"


def iso(ts_s: float | None) -> datetime | None:
    """A Unix time as an aware UTC datetime."""
    return None if ts_s is None else datetime.fromtimestamp(ts_s, tz=UTC)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class LoginIn(BaseModel):
    """A browser login."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64, pattern=NO_NUL)
    password: str = Field(min_length=1, max_length=1024)


class MeOut(_Out):
    """Who the caller is."""

    name: str
    role: str
    kind: str
    cameras: list[str] | None


class WorkflowOut(_Out):
    """The operators' state of an incident."""

    state: str
    disposition: str | None
    owner: str | None
    updated_at: datetime | None
    escalated_at: datetime | None

    @classmethod
    def of(cls, view: WorkflowView) -> WorkflowOut:
        """From the store's view."""
        return cls(
            state=view.state.value,
            disposition=None if view.disposition is None else view.disposition.value,
            owner=view.owner,
            updated_at=iso(view.updated_ts_s),
            escalated_at=iso(view.escalated_ts_s),
        )


class IncidentOut(_Out):
    """One incident as a list shows it."""

    id: str
    camera_id: str
    camera_name: str
    event_type: str
    status: str
    opened_at: datetime
    closed_at: datetime | None
    last_at: datetime
    peak_score: float
    zone: str | None
    version: int
    severity: str | None
    title: str | None
    workflow: WorkflowOut

    @classmethod
    def of(cls, rec: IncidentRecord, view: WorkflowView) -> IncidentOut:
        """From the store's records."""
        return cls(
            id=rec.incident_id,
            camera_id=rec.camera_id,
            camera_name=rec.camera_name,
            event_type=rec.event_type,
            status=rec.status,
            opened_at=iso(rec.opened_ts_s) or datetime.now(UTC),
            closed_at=iso(rec.closed_ts_s),
            last_at=iso(rec.last_ts_s) or datetime.now(UTC),
            peak_score=rec.peak_score,
            zone=rec.zone,
            version=rec.version,
            severity=None if rec.severity is None else rec.severity.value,
            title=rec.title,
            workflow=WorkflowOut.of(view),
        )


class IncidentPage(_Out):
    """A page of incidents; ``next_cursor`` fetches the next one."""

    items: list[IncidentOut]
    next_cursor: str | None


class ReportOut(_Out):
    """A report of an incident."""

    seq: int
    incident_version: int
    title: str
    summary: str
    severity: str
    action: str
    backend: str
    model: str | None = Field(description="The model that wrote it (None: the template).")
    fallback_used: bool = Field(
        description="True if a model's answer was rejected and the template stands in."
    )
    fallback_reason: str | None = Field(description="Why the model's answer was rejected.")
    created_at: datetime

    @classmethod
    def of(cls, r: ReportRecord) -> ReportOut:
        """From the store's record."""
        return cls(
            seq=r.seq,
            incident_version=r.incident_version,
            title=r.title,
            summary=r.summary,
            severity=r.severity.value,
            action=r.action,
            backend=r.backend,
            model=r.model,
            fallback_used=r.fallback_used,
            fallback_reason=r.fallback_reason,
            created_at=iso(r.created_ts_s) or datetime.now(UTC),
        )


class TimelineOut(_Out):
    """One step of an incident's detector timeline."""

    version: int
    kind: str
    at: datetime
    status: str
    score: float
    peak_score: float

    @classmethod
    def of(cls, u: UpdateRecord) -> TimelineOut:
        """From the store's record."""
        return cls(
            version=u.version,
            kind=u.kind,
            at=iso(u.ts_s) or datetime.now(UTC),
            status=u.status,
            score=u.score,
            peak_score=u.peak_score,
        )


class MediaOut(_Out):
    """A keyframe or clip, fetched from ``url``."""

    id: int
    kind: str
    content_type: str
    at: datetime
    bytes: int
    width: int | None
    height: int | None
    duration_s: float | None
    url: str

    @classmethod
    def of(cls, media_id: int, m: MediaRef) -> MediaOut:
        """From the store's record."""
        return cls(
            id=media_id,
            kind=m.kind,
            content_type=m.content_type,
            at=iso(m.ts_s) or datetime.now(UTC),
            bytes=m.bytes,
            width=m.width,
            height=m.height,
            duration_s=m.duration_s,
            url=f"/api/media/{media_id}",
        )


class AuditOut(_Out):
    """One entry of the audit trail."""

    seq: int
    at: datetime
    actor: str
    action: str
    before: dict[str, Any]
    after: dict[str, Any]
    note: str | None

    @classmethod
    def of(cls, e: AuditEntry) -> AuditOut:
        """From the store's record."""
        return cls(
            seq=e.seq,
            at=iso(e.ts_s) or datetime.now(UTC),
            actor=e.actor,
            action=e.action,
            before=e.before,
            after=e.after,
            note=e.note,
        )


class IncidentDetailOut(IncidentOut):
    """One incident in full."""

    timeline: list[TimelineOut]
    reports: list[ReportOut]
    media: list[MediaOut]
    history: list[AuditOut]
    procedure: str | None


class NeighboursOut(_Out):
    """The incidents opened just before and just after one, within the caller's cameras."""

    prev: str | None = Field(description="Opened just before (older); None: none.")
    next: str | None = Field(description="Opened just after (newer); None: none.")


class NoteIn(BaseModel):
    """An optional note with an action."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(None, max_length=MAX_NOTE_CHARS, pattern=NO_NUL)


class RequiredNoteIn(BaseModel):
    """A note."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=MAX_NOTE_CHARS, pattern=NO_NUL)


class ResolveIn(BaseModel):
    """Resolving an incident."""

    model_config = ConfigDict(extra="forbid")

    disposition: Disposition
    note: str | None = Field(None, max_length=MAX_NOTE_CHARS, pattern=NO_NUL)


class AssignIn(BaseModel):
    """Giving an incident to an owner (None: nobody)."""

    model_config = ConfigDict(extra="forbid")

    owner: str | None = Field(None, min_length=1, max_length=64, pattern=NO_NUL)
    note: str | None = Field(None, max_length=MAX_NOTE_CHARS, pattern=NO_NUL)


class SnoozeIn(BaseModel):
    """Holding back a camera's alerts."""

    model_config = ConfigDict(extra="forbid")

    minutes: float = Field(gt=0, le=7 * 24 * 60)


class SnoozeOut(_Out):
    """Until when a camera is snoozed."""

    camera_id: str
    until: datetime


class ZoneOut(_Out):
    """A named polygon of a camera (points ``[x, y]`` in [0, 1], x right, y down)."""

    name: str
    polygon: list[tuple[float, float]]
    events: list[str]
    mask: bool


class CameraOut(_Out):
    """A camera with its live state (when the pipeline runs in this process).

    ``source`` says where it is defined: ``config`` (the config file: change it there),
    ``runtime`` (added through the API: ``editable`` by admins) or None (only in the database,
    e.g. a camera removed since).
    """

    id: str
    name: str
    url: str
    state: str | None
    reason: str | None
    snoozed_until: datetime | None
    input_fps: float | None = None
    sampled_fps: float | None = None
    drops: dict[str, int] = Field(default_factory=dict)
    reconnects: int | None = None
    decode_cpu_s: float | None = Field(
        None, description="CPU seconds its reader thread spent demuxing and decoding."
    )
    last_frame_at: datetime | None = None
    source: Literal["config", "runtime"] | None = None
    editable: bool = False
    fps: float | None = Field(None, description="The configured sampling rate.")
    events: list[str] = Field(default_factory=list)
    zones: list[ZoneOut] = Field(default_factory=list)


class Health(_Out):
    """Liveness and readiness."""

    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)
