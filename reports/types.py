"""Types produced by the reports stage."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Severity(enum.StrEnum):
    """How urgent an incident is (rules in ``reports.severity``)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class Report:
    """A short natural-language incident report and where it came from."""

    incident_id: str
    incident_version: int
    title: str
    summary: str
    severity: Severity
    action: str
    backend: str
    model: str | None = None
    latency_s: float = 0.0
    fallback_used: bool = False
    fallback_reason: str | None = None

    @property
    def text(self) -> str:
        """Title, summary and recommended action as one block of text."""
        return f"{self.title}\n{self.summary}\nRecommended action: {self.action}"
