"""Bus messages (JSON) for incidents and reports; JSON Schemas in ``docs/schemas/``.

Every message carries ``schema_version``, ``incident_id`` and ``version``: consumers drop
duplicates by ``(incident_id, version)`` per topic. On the reports topic ``version`` counts the
reports of one incident (1, 2, ...) and ``incident_version`` names the incident update the
report describes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from detectors.types import IncidentUpdate
from storage.records import MediaRef, ReportRecord

#: Bumped on any incompatible change of the message shape.
SCHEMA_VERSION = 1

#: Topic suffixes; the full topic is ``<prefix>.<suffix>``.
INCIDENTS = "incidents"
REPORTS = "reports"
#: operator workflow actions; ``version`` counts one incident's actions (1, 2, ...)
ACTIONS = "actions"
TOPICS = (INCIDENTS, REPORTS, ACTIONS)


def topic_name(prefix: str, suffix: str) -> str:
    """The Kafka topic for a suffix, e.g. ``vigil.incidents``."""
    return f"{prefix}.{suffix}"


def iso_utc(ts_s: float | None) -> str | None:
    """Unix seconds as an ISO 8601 UTC string (millisecond precision)."""
    if ts_s is None:
        return None
    return (
        datetime.fromtimestamp(ts_s, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


#: Longest text field in a message; the full text stays in the database.
MAX_TEXT_CHARS = 16_000


def _clip(text: str) -> str:
    if len(text) <= MAX_TEXT_CHARS:
        return text
    return text[: MAX_TEXT_CHARS - 1] + "…"


def _finite(name: str, value: float) -> float:
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return v


def _report_part(report: ReportRecord) -> dict[str, Any]:
    return {
        "seq": report.seq,
        "incident_version": report.incident_version,
        "title": _clip(report.title),
        "summary": _clip(report.summary),
        "severity": report.severity.value,
        "action": _clip(report.action),
        "text": _clip(report.text),
        "backend": report.backend,
        "model": report.model,
        "fallback_used": report.fallback_used,
    }


def incident_message(
    *,
    update: IncidentUpdate,
    status: str,
    camera_name: str,
    report: ReportRecord | None,
    media: Sequence[MediaRef],
) -> dict[str, Any]:
    """The ``<prefix>.incidents`` message for one incident update."""
    return {
        "schema_version": SCHEMA_VERSION,
        "message_type": "incident",
        "incident_id": update.incident_id,
        "version": update.version,
        "update_kind": update.kind.value,
        "camera_id": update.camera_id,
        "camera_name": camera_name,
        "event_type": update.event_type,
        "status": status,
        "zone": update.zone,
        "ts_s": _finite("ts_s", update.ts_s),
        "opened_ts_s": _finite("opened_ts_s", update.opened_ts_s),
        "closed_ts_s": (
            None if update.closed_ts_s is None else _finite("closed_ts_s", update.closed_ts_s)
        ),
        "opened_at": iso_utc(update.opened_ts_s),
        "closed_at": iso_utc(update.closed_ts_s),
        "duration_s": _finite("duration_s", update.duration_s),
        "offset_s": round(_finite("offset_s", max(0.0, update.onset_pts_s)), 3),
        "score": {
            "current": _finite("score", update.score),
            "peak": _finite("peak_score", update.peak_score),
            "mean": _finite("mean_score", update.mean_score),
        },
        "cues": cues_dict(update.cues),
        "close_reason": update.close_reason,
        "report": None if report is None else _report_part(report),
        "media": [m.to_message() for m in media],
    }


def report_message(
    *,
    report: ReportRecord,
    incident_id: str,
    camera_id: str,
    event_type: str,
    media: Sequence[MediaRef],
) -> dict[str, Any]:
    """The ``<prefix>.reports`` message for one stored report."""
    return {
        "schema_version": SCHEMA_VERSION,
        "message_type": "report",
        "incident_id": incident_id,
        "version": report.seq,
        "incident_version": report.incident_version,
        "camera_id": camera_id,
        "event_type": event_type,
        "ts_s": report.created_ts_s,
        "created_at": iso_utc(report.created_ts_s),
        "title": _clip(report.title),
        "summary": _clip(report.summary),
        "severity": report.severity.value,
        "action": _clip(report.action),
        "text": _clip(report.text),
        "backend": report.backend,
        "model": report.model,
        "latency_s": _finite("latency_s", report.latency_s),
        "fallback_used": report.fallback_used,
        "fallback_reason": report.fallback_reason,
        "media": [m.to_message() for m in media],
    }


def cues_dict(cues: Mapping[str, float]) -> dict[str, float]:
    """Cue measurements as plain finite floats."""
    return {str(k): _finite(f"cue {k}", v) for k, v in cues.items()}


def encode(message: Mapping[str, Any]) -> str:
    """Compact JSON (no NaN/Infinity, which JSON does not have)."""
    return json.dumps(message, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
