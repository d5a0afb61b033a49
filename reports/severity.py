"""Severity of an incident, by fixed rules from its event type, duration and zone.

The rules (``reports.severity`` in the config tunes them):

1. **Event type** sets the starting level: fire → high, fall → high, smoke → medium,
   intrusion → medium, any other type → low (``severity.base`` overrides per type).
2. **Duration**: an incident that has lasted at least ``severity.escalate_after_s`` (default
   60 s; for an open incident, so far) goes up one level.
3. **Zone**: an incident in one of ``severity.critical_zones`` (default none) goes up one level.

Levels stop at critical. A language model never chooses the severity: the prompt gives it the
level these rules set, and an answer that states another level is rejected.
"""

from __future__ import annotations

from reports.evidence import Evidence
from reports.settings import SeverityConfig
from reports.types import Severity

_ORDER = (Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)


def severity_for(evidence: Evidence, rules: SeverityConfig | None = None) -> Severity:
    """The severity the documented rules give an incident."""
    rules = rules or SeverityConfig()
    level = _ORDER.index(Severity(rules.base.get(evidence.event_type, "low")))
    if evidence.duration_s >= rules.escalate_after_s:
        level += 1
    if evidence.zone is not None and evidence.zone in rules.critical_zones:
        level += 1
    return _ORDER[min(level, len(_ORDER) - 1)]
