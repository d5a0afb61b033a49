"""Read models returned by the store (separate from the table models). Times are Unix seconds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reports.types import Severity


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    """Which incidents a history query selects; None matches anything.

    Times select by opening time, ``[since_ts_s, until_ts_s)`` (Unix seconds).
    """

    camera: str | None = None
    event_type: str | None = None
    status: str | None = None
    since_ts_s: float | None = None
    until_ts_s: float | None = None


@dataclass(frozen=True, slots=True)
class MediaRef:
    """A keyframe or clip of an incident. ``path`` is relative to the media directory."""

    incident_id: str
    kind: str
    path: str
    content_type: str
    ts_s: float
    bytes: int
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None

    def to_message(self) -> dict[str, Any]:
        """The JSON form used in bus messages."""
        from storage.messages import media_ref_message  # messages builds on these records

        return media_ref_message(self).model_dump()


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    """One incident as it stands now (a row of the history list)."""

    incident_id: str
    camera_id: str
    camera_name: str
    event_type: str
    status: str
    opened_ts_s: float
    closed_ts_s: float | None
    last_ts_s: float
    score: float
    peak_score: float
    mean_score: float
    zone: str | None
    version: int
    close_reason: str | None = None
    severity: Severity | None = None
    title: str | None = None
    #: where the onset is in its stream (seconds from the stream's first frame)
    offset_s: float = 0.0

    @property
    def is_open(self) -> bool:
        """True until the detector closed the incident."""
        return self.closed_ts_s is None

    @property
    def duration_s(self) -> float:
        """Seconds from opening to closing (or to the latest update while open)."""
        end = self.closed_ts_s if self.closed_ts_s is not None else self.last_ts_s
        return max(0.0, end - self.opened_ts_s)


@dataclass(frozen=True, slots=True)
class UpdateRecord:
    """One step of an incident's timeline."""

    version: int
    kind: str
    ts_s: float
    status: str
    score: float
    peak_score: float
    mean_score: float
    zone: str | None
    closed_ts_s: float | None
    close_reason: str | None
    cues: Mapping[str, float] = field(default_factory=dict)
    timeline: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True, slots=True)
class ReportRecord:
    """A stored report; ``seq`` counts the reports of one incident from 1."""

    seq: int
    incident_version: int
    title: str
    summary: str
    severity: Severity
    action: str
    backend: str
    model: str | None
    latency_s: float
    fallback_used: bool
    fallback_reason: str | None
    created_ts_s: float

    @property
    def text(self) -> str:
        """Title, summary and recommended action as one block of text."""
        return f"{self.title}\n{self.summary}\nRecommended action: {self.action}"


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    """An operator action on an incident."""

    ts_s: float
    action: str
    operator: str | None
    note: str | None


@dataclass(frozen=True, slots=True)
class IncidentDetail:
    """An incident with its timeline, reports (newest last), media and operator feedback."""

    incident: IncidentRecord
    updates: tuple[UpdateRecord, ...]
    reports: tuple[ReportRecord, ...]
    media: tuple[MediaRef, ...]
    feedback: tuple[FeedbackRecord, ...]

    @property
    def latest_report(self) -> ReportRecord | None:
        """The newest report, if any."""
        return self.reports[-1] if self.reports else None


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A message waiting in the outbox. ``topic`` is the suffix (``incidents``/``reports``)."""

    id: int
    topic: str
    key: str
    incident_id: str
    version: int
    payload: str
    attempts: int


@dataclass(frozen=True, slots=True)
class StoredMedia:
    """A media row as the retention sweep sees it."""

    id: int
    ref: MediaRef
    created_ts_s: float
    incident_open: bool
