"""SQLAlchemy 2.0 table models. Schema changes go through Alembic (``storage/migrations``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Constraint names are stable across databases, so migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: 64-bit ids on PostgreSQL; SQLite needs INTEGER to alias the rowid (autoincrement).
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Base of all Vigil tables."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Camera(Base):
    """A camera incidents belong to."""

    __tablename__ = "cameras"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    location: Mapped[str | None] = mapped_column(String(256))
    url_masked: Mapped[str] = mapped_column(String(2048))
    created_ts_s: Mapped[float] = mapped_column(Double)
    updated_ts_s: Mapped[float] = mapped_column(Double)


class Incident(Base):
    """An incident as it stands now; its history is in ``incident_updates``."""

    __tablename__ = "incidents"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    camera_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("cameras.id", ondelete="RESTRICT")
    )
    event_type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    opened_ts_s: Mapped[float] = mapped_column(Double)
    closed_ts_s: Mapped[float | None] = mapped_column(Double)
    last_ts_s: Mapped[float] = mapped_column(Double)
    score: Mapped[float] = mapped_column(Double)
    peak_score: Mapped[float] = mapped_column(Double)
    mean_score: Mapped[float] = mapped_column(Double)
    zone: Mapped[str | None] = mapped_column(String(128))
    onset_pts_s: Mapped[float] = mapped_column(Double)
    close_reason: Mapped[str | None] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_incidents_opened", "opened_ts_s"),
        Index("ix_incidents_camera_opened", "camera_id", "opened_ts_s"),
        Index("ix_incidents_type_opened", "event_type", "opened_ts_s"),
        Index("ix_incidents_status_opened", "status", "opened_ts_s"),
    )


class IncidentUpdateRow(Base):
    """One step of an incident's timeline: unique per ``(incident_id, version)``."""

    __tablename__ = "incident_updates"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("incidents.id", ondelete="CASCADE")
    )
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(8))
    ts_s: Mapped[float] = mapped_column(Double)
    status: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Double)
    peak_score: Mapped[float] = mapped_column(Double)
    mean_score: Mapped[float] = mapped_column(Double)
    zone: Mapped[str | None] = mapped_column(String(128))
    closed_ts_s: Mapped[float | None] = mapped_column(Double)
    close_reason: Mapped[str | None] = mapped_column(String(128))
    cues: Mapped[dict[str, Any]] = mapped_column(JSON)
    timeline: Mapped[list[Any]] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint("incident_id", "version"),)


class ReportRow(Base):
    """A report of an incident; ``seq`` counts one incident's reports from 1."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("incidents.id", ondelete="CASCADE")
    )
    seq: Mapped[int] = mapped_column(Integer)
    incident_version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(Text)
    backend: Mapped[str] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(512))
    latency_s: Mapped[float] = mapped_column(Double)
    fallback_used: Mapped[bool] = mapped_column(Boolean)
    fallback_reason: Mapped[str | None] = mapped_column(Text)
    created_ts_s: Mapped[float] = mapped_column(Double)

    __table_args__ = (UniqueConstraint("incident_id", "seq"),)


class MediaRow(Base):
    """A keyframe or clip on disk; ``path`` is relative to the media directory."""

    __tablename__ = "media"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(1024), unique=True)
    content_type: Mapped[str] = mapped_column(String(64))
    ts_s: Mapped[float] = mapped_column(Double)
    bytes: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    duration_s: Mapped[float | None] = mapped_column(Double)
    created_ts_s: Mapped[float] = mapped_column(Double, index=True)


class OutboxRow(Base):
    """A message written in the same transaction as the change it announces."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(64))
    incident_id: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(Text)
    created_ts_s: Mapped[float] = mapped_column(Double)
    sent_ts_s: Mapped[float | None] = mapped_column(Double)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_outbox_pending", "sent_ts_s", "id"),)


class Feedback(Base):
    """An operator action: acknowledge, resolve, false alarm, reopen or comment."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    ts_s: Mapped[float] = mapped_column(Double)
    action: Mapped[str] = mapped_column(String(32))
    operator: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)


# --- the operator service (users, tokens, sessions, workflow, live feed) -------------------


class UserRow(Base):
    """A person who logs in; ``cameras`` None means every camera."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(Text)
    cameras: Mapped[list[str] | None] = mapped_column(JSON)
    created_ts_s: Mapped[float] = mapped_column(Double)
    password_ts_s: Mapped[float] = mapped_column(Double)


class ApiTokenRow(Base):
    """An integration's bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    cameras: Mapped[list[str] | None] = mapped_column(JSON)
    created_ts_s: Mapped[float] = mapped_column(Double)
    revoked_ts_s: Mapped[float | None] = mapped_column(Double)
    last_used_ts_s: Mapped[float | None] = mapped_column(Double)


class SessionRow(Base):
    """A browser login; ``id`` is the SHA-256 of the cookie's value."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_ts_s: Mapped[float] = mapped_column(Double)
    expires_ts_s: Mapped[float] = mapped_column(Double)


class WorkflowRow(Base):
    """Where the operators stand on an incident; no row means ``new``."""

    __tablename__ = "incident_workflow"

    incident_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(16))
    disposition: Mapped[str | None] = mapped_column(String(16))
    owner: Mapped[str | None] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    updated_ts_s: Mapped[float] = mapped_column(Double)
    escalated_ts_s: Mapped[float | None] = mapped_column(Double)

    __table_args__ = (Index("ix_incident_workflow_state", "state"),)


class WorkflowActionRow(Base):
    """One operator action, append-only: who, when, what, and the state before and after."""

    __tablename__ = "workflow_actions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("incidents.id", ondelete="CASCADE")
    )
    seq: Mapped[int] = mapped_column(Integer)
    ts_s: Mapped[float] = mapped_column(Double)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    before: Mapped[dict[str, Any]] = mapped_column(JSON)
    after: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("incident_id", "seq"),)


class CameraSnoozeRow(Base):
    """Alerts of a camera held back until ``until_ts_s``."""

    __tablename__ = "camera_snoozes"

    camera_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    until_ts_s: Mapped[float] = mapped_column(Double)
    actor: Mapped[str] = mapped_column(String(64))
    created_ts_s: Mapped[float] = mapped_column(Double)


class LiveEventRow(Base):
    """One event of the live feed; its id is the SSE event id (``Last-Event-ID`` resumes)."""

    __tablename__ = "live_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ts_s: Mapped[float] = mapped_column(Double, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    camera_id: Mapped[str | None] = mapped_column(String(64))
    incident_id: Mapped[str | None] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class RuntimeCameraRow(Base):
    """A camera added through the API; ``config`` holds its settings, secrets only as ``${VAR}``."""

    __tablename__ = "runtime_cameras"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_ts_s: Mapped[float] = mapped_column(Double)
    updated_ts_s: Mapped[float] = mapped_column(Double)


# --- history search (migration 0003) ------------------------------------------------------


class ReportEmbeddingRow(Base):
    """A report's normalized embedding: ``dim`` float32 values, little-endian bytes."""

    __tablename__ = "report_embeddings"
    __table_args__ = (Index("ix_report_embeddings_model_created", "model", "dim", "created_ts_s"),)

    report_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(128), primary_key=True)
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_ts_s: Mapped[float] = mapped_column(Double)


#: Full-text objects the migrations create outside these models (dialect-specific SQL).
FULL_TEXT_OBJECTS = ("reports_fts", "ix_reports_fts")


def include_in_autogenerate(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic ``include_name``: leave the full-text table, its shadow tables and index out."""
    return not (name or "").startswith(FULL_TEXT_OBJECTS)
