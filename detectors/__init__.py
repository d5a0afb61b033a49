"""Event heads, thresholds with hysteresis, zones and the incident lifecycle."""

from detectors.types import IncidentStatus, IncidentUpdate, UpdateKind

__all__ = ["IncidentStatus", "IncidentUpdate", "UpdateKind"]
