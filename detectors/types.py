"""Types produced by the detectors stage: incident lifecycle updates."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


class UpdateKind(enum.StrEnum):
    """What happened to an incident."""

    OPEN = "open"
    UPDATE = "update"
    CLOSE = "close"


class IncidentStatus(enum.StrEnum):
    """Operator-facing status of an incident."""

    OPEN = "open"
    CLOSED = "closed"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    FALSE_ALARM = "false_alarm"


@dataclass(frozen=True, slots=True)
class ScorePoint:
    """One point of an incident's score timeline."""

    ts_s: float
    score: float


@dataclass(frozen=True, slots=True)
class IncidentUpdate:
    """One step in an incident's life: opened, updated (new peak, periodic) or closed.

    ``version`` grows by one with each update of the same incident, so consumers can drop
    duplicates by ``(incident_id, version)``. Times are wall-clock Unix seconds.
    """

    incident_id: str
    version: int
    kind: UpdateKind
    camera_id: str
    event_type: str
    ts_s: float
    opened_ts_s: float
    closed_ts_s: float | None
    score: float
    peak_score: float
    mean_score: float
    zone: str | None = None
    onset_pts_s: float = 0.0
    cues: Mapping[str, float] = field(default_factory=dict)
    timeline: tuple[ScorePoint, ...] = ()
    close_reason: str | None = None
    #: where in the picture (normalised ``x0, y0, x1, y1``) the event was last seen, if the
    #: scorer says where
    region: tuple[float, float, float, float] | None = None

    @property
    def status(self) -> IncidentStatus:
        """Open until the close update."""
        return IncidentStatus.CLOSED if self.kind is UpdateKind.CLOSE else IncidentStatus.OPEN

    @property
    def duration_s(self) -> float:
        """Seconds from opening to closing (or to this update while open)."""
        end = self.closed_ts_s if self.closed_ts_s is not None else self.ts_s
        return max(0.0, end - self.opened_ts_s)
