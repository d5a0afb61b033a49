"""Bus messages (JSON) for incidents and reports, built from the store's records.

Their shape is the models of ``storage.message_models``; the JSON Schemas in
``docs/schemas/`` are generated from them (``python -m storage.schemas``).

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
from typing import Any, cast, overload

from detectors.types import IncidentUpdate
from storage.message_models import (
    SCHEMA_VERSION,
    ContentType,
    IncidentMessage,
    MediaRefMessage,
    ReportMessage,
    ReportPart,
    ScorePart,
    StatusName,
)
from storage.records import MediaRef, ReportRecord

__all__ = [
    "INCIDENTS",
    "MAX_TEXT_CHARS",
    "REPORTS",
    "SCHEMA_VERSION",
    "TOPICS",
    "build_incident_message",
    "build_report_message",
    "cues_dict",
    "encode",
    "incident_message",
    "iso_utc",
    "media_ref_message",
    "report_message",
    "topic_name",
]

#: Topic suffixes; the full topic is ``<prefix>.<suffix>``.
INCIDENTS = "incidents"
REPORTS = "reports"
#: operator workflow actions; ``version`` counts one incident's actions (1, 2, ...)
ACTIONS = "actions"
TOPICS = (INCIDENTS, REPORTS, ACTIONS)


def topic_name(prefix: str, suffix: str) -> str:
    """The Kafka topic for a suffix, e.g. ``vigil.incidents``."""
    return f"{prefix}.{suffix}"


@overload
def iso_utc(ts_s: float) -> str: ...
@overload
def iso_utc(ts_s: None) -> None: ...
@overload
def iso_utc(ts_s: float | None) -> str | None: ...


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


def _report_part(report: ReportRecord) -> ReportPart:
    return ReportPart.model_construct(
        seq=report.seq,
        incident_version=report.incident_version,
        title=_clip(report.title),
        summary=_clip(report.summary),
        severity=report.severity.value,
        action=_clip(report.action),
        text=_clip(report.text),
        backend=report.backend,
        model=report.model,
        fallback_used=report.fallback_used,
    )


def media_ref_message(ref: MediaRef) -> MediaRefMessage:
    """A stored media reference as messages carry it."""
    return MediaRefMessage.model_construct(
        kind=ref.kind,
        path=ref.path,
        content_type=cast(ContentType, ref.content_type),  # as stored, unchecked
        ts_s=ref.ts_s,
        bytes=ref.bytes,
        width=ref.width,
        height=ref.height,
        duration_s=ref.duration_s,
    )


def build_incident_message(
    *,
    update: IncidentUpdate,
    status: str,
    camera_name: str,
    report: ReportRecord | None,
    media: Sequence[MediaRef],
) -> IncidentMessage:
    """The ``<prefix>.incidents`` message for one incident update, as a model."""
    return IncidentMessage.model_construct(
        schema_version=SCHEMA_VERSION,
        message_type="incident",
        incident_id=update.incident_id,
        version=update.version,
        update_kind=update.kind.value,
        camera_id=update.camera_id,
        camera_name=camera_name,
        event_type=update.event_type,
        status=cast(StatusName, status),  # as stored, unchecked
        zone=update.zone,
        ts_s=_finite("ts_s", update.ts_s),
        opened_ts_s=_finite("opened_ts_s", update.opened_ts_s),
        closed_ts_s=(
            None if update.closed_ts_s is None else _finite("closed_ts_s", update.closed_ts_s)
        ),
        opened_at=iso_utc(update.opened_ts_s),
        closed_at=iso_utc(update.closed_ts_s),
        duration_s=_finite("duration_s", update.duration_s),
        offset_s=round(_finite("offset_s", max(0.0, update.onset_pts_s)), 3),
        score=ScorePart.model_construct(
            current=_finite("score", update.score),
            peak=_finite("peak_score", update.peak_score),
            mean=_finite("mean_score", update.mean_score),
        ),
        cues=cues_dict(update.cues),
        close_reason=update.close_reason,
        report=None if report is None else _report_part(report),
        media=[media_ref_message(m) for m in media],
    )


def incident_message(
    *,
    update: IncidentUpdate,
    status: str,
    camera_name: str,
    report: ReportRecord | None,
    media: Sequence[MediaRef],
) -> dict[str, Any]:
    """The ``<prefix>.incidents`` message for one incident update."""
    msg = build_incident_message(
        update=update, status=status, camera_name=camera_name, report=report, media=media
    )
    return msg.model_dump()


def build_report_message(
    *,
    report: ReportRecord,
    incident_id: str,
    camera_id: str,
    event_type: str,
    media: Sequence[MediaRef],
) -> ReportMessage:
    """The ``<prefix>.reports`` message for one stored report, as a model."""
    return ReportMessage.model_construct(
        schema_version=SCHEMA_VERSION,
        message_type="report",
        incident_id=incident_id,
        version=report.seq,
        incident_version=report.incident_version,
        camera_id=camera_id,
        event_type=event_type,
        ts_s=report.created_ts_s,
        created_at=iso_utc(report.created_ts_s),
        title=_clip(report.title),
        summary=_clip(report.summary),
        severity=report.severity.value,
        action=_clip(report.action),
        text=_clip(report.text),
        backend=report.backend,
        model=report.model,
        latency_s=_finite("latency_s", report.latency_s),
        fallback_used=report.fallback_used,
        fallback_reason=report.fallback_reason,
        media=[media_ref_message(m) for m in media],
    )


def report_message(
    *,
    report: ReportRecord,
    incident_id: str,
    camera_id: str,
    event_type: str,
    media: Sequence[MediaRef],
) -> dict[str, Any]:
    """The ``<prefix>.reports`` message for one stored report."""
    msg = build_report_message(
        report=report,
        incident_id=incident_id,
        camera_id=camera_id,
        event_type=event_type,
        media=media,
    )
    return msg.model_dump()


def cues_dict(cues: Mapping[str, float]) -> dict[str, float]:
    """Cue measurements as plain finite floats."""
    return {str(k): _finite(f"cue {k}", v) for k, v in cues.items()}


def encode(message: Mapping[str, Any]) -> str:
    """Compact JSON (no NaN/Infinity, which JSON does not have)."""
    return json.dumps(message, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
