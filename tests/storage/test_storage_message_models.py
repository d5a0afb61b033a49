"""The message models build byte for byte the JSON the hand-made dicts built before them.

``_legacy_*`` below are the builders as they were (a frozen copy): every case is encoded both
ways and the payloads compared as strings, so ``1`` vs ``1.0`` or a reordered key would show.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, get_args

import pytest
from storage_testkit import assert_valid_message
from storage_workload import make_update

from detectors.types import IncidentStatus, IncidentUpdate, UpdateKind
from reports.types import Severity
from storage import message_models as mm
from storage.messages import (
    MAX_TEXT_CHARS,
    SCHEMA_VERSION,
    cues_dict,
    encode,
    incident_message,
    iso_utc,
    report_message,
)
from storage.models import Incident
from storage.records import MediaRef, ReportRecord
from storage.repo_workflow import (
    Action,
    AuditEntry,
    Disposition,
    WorkflowState,
    action_message,
    build_action_message,
)

# --- the builders before the models (do not edit: they are the reference) ----------------


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT_CHARS else text[: MAX_TEXT_CHARS - 1] + "…"


def _finite(name: str, value: float) -> float:
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return v


def _legacy_media(m: MediaRef) -> dict[str, Any]:
    keys = ("kind", "path", "content_type", "ts_s", "bytes", "width", "height", "duration_s")
    return {k: getattr(m, k) for k in keys}


def _legacy_report_part(r: ReportRecord) -> dict[str, Any]:
    return {
        "seq": r.seq,
        "incident_version": r.incident_version,
        "title": _clip(r.title),
        "summary": _clip(r.summary),
        "severity": r.severity.value,
        "action": _clip(r.action),
        "text": _clip(r.text),
        "backend": r.backend,
        "model": r.model,
        "fallback_used": r.fallback_used,
    }


def _legacy_incident(
    u: IncidentUpdate, status: str, name: str, r: ReportRecord | None, media: Sequence[MediaRef]
) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "message_type": "incident",
        "incident_id": u.incident_id,
        "version": u.version,
        "update_kind": u.kind.value,
        "camera_id": u.camera_id,
        "camera_name": name,
        "event_type": u.event_type,
        "status": status,
        "zone": u.zone,
        "ts_s": _finite("ts_s", u.ts_s),
        "opened_ts_s": _finite("opened_ts_s", u.opened_ts_s),
        "closed_ts_s": None if u.closed_ts_s is None else _finite("closed_ts_s", u.closed_ts_s),
        "opened_at": iso_utc(u.opened_ts_s),
        "closed_at": iso_utc(u.closed_ts_s),
        "duration_s": _finite("duration_s", u.duration_s),
        "offset_s": round(_finite("offset_s", max(0.0, u.onset_pts_s)), 3),
        "score": {
            "current": _finite("score", u.score),
            "peak": _finite("peak_score", u.peak_score),
            "mean": _finite("mean_score", u.mean_score),
        },
        "cues": cues_dict(u.cues),
        "close_reason": u.close_reason,
        "report": None if r is None else _legacy_report_part(r),
        "media": [_legacy_media(m) for m in media],
    }


def _legacy_report(
    r: ReportRecord, incident_id: str, camera_id: str, event_type: str, media: Sequence[MediaRef]
) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "message_type": "report",
        "incident_id": incident_id,
        "version": r.seq,
        "incident_version": r.incident_version,
        "camera_id": camera_id,
        "event_type": event_type,
        "ts_s": r.created_ts_s,
        "created_at": iso_utc(r.created_ts_s),
        "title": _clip(r.title),
        "summary": _clip(r.summary),
        "severity": r.severity.value,
        "action": _clip(r.action),
        "text": _clip(r.text),
        "backend": r.backend,
        "model": r.model,
        "latency_s": _finite("latency_s", r.latency_s),
        "fallback_used": r.fallback_used,
        "fallback_reason": r.fallback_reason,
        "media": [_legacy_media(m) for m in media],
    }


def _legacy_action(incident: Incident, entry: AuditEntry) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "incident_id": incident.id,
        "version": entry.seq,
        "camera_id": incident.camera_id,
        "event_type": incident.event_type,
        "action": entry.action,
        "actor": entry.actor,
        "ts": iso_utc(entry.ts_s),
        "before": entry.before,
        "after": entry.after,
        "note": entry.note,
    }


# --- cases ---------------------------------------------------------------------------------

_REPORT = ReportRecord(
    seq=2,
    incident_version=3,
    title="Person fell near the dock",
    summary="A person fell at 10:00 on Camera cam-a.",
    severity=Severity.CRITICAL,
    action="Check on the person.",
    backend="openai",
    model="tiny",
    latency_s=0.25,
    fallback_used=True,
    fallback_reason="grounding check failed: camera",
    created_ts_s=1_700_000_010.123456,
)
_KEYFRAME = MediaRef(
    "i-1", "keyframe:onset", "d/i-1/k.jpg", "image/jpeg", 1_700_000_000.5, 1000, 640, 480
)
_CLIP = MediaRef("i-1", "clip", "d/i-1/c.mp4", "video/mp4", 1_700_000_000.0, 90000, 640, 480, 8.0)
#: whole numbers where the records hold ints (an injected clock, a hand-made ref)
_INT_REPORT = replace(_REPORT, created_ts_s=1_700_000_010, latency_s=0, model=None)
_INT_MEDIA = MediaRef("i-1", "clip", "d/i-1/c2.mp4", "video/mp4", 1_700_000_000, 5, None, None, 3)
_LONG = replace(_REPORT, title="t" * (MAX_TEXT_CHARS + 5), summary="é" * MAX_TEXT_CHARS)

_UPDATES = [
    make_update("i-1", 1),
    make_update("i-1", 4, zone="dock", score=1.0),
    make_update("i-1", 5, closed=True, score=0.0),
    replace(make_update("i-1", 2), onset_pts_s=-1.5, cues={"drop": 0.4, "angle": 80}),
    replace(make_update("i-1", 3), ts_s=1_700_000_003, opened_ts_s=1_700_000_000, score=1),
    replace(make_update("i-1", 6, closed=True), close_reason="quiet", onset_pts_s=12.34567),
]


@pytest.mark.parametrize("update", _UPDATES, ids=lambda u: f"v{u.version}")
@pytest.mark.parametrize(
    "report", [None, _REPORT, _INT_REPORT, _LONG], ids=["none", "floats", "ints", "long"]
)
@pytest.mark.parametrize("media", [[], [_KEYFRAME, _CLIP], [_INT_MEDIA]], ids=len)
def test_incident_messages_are_the_json_of_before(
    update: IncidentUpdate, report: ReportRecord | None, media: list[MediaRef]
) -> None:
    for status in ("open", "false_alarm"):
        new = incident_message(
            update=update, status=status, camera_name="Dock", report=report, media=media
        )
        old = _legacy_incident(update, status, "Dock", report, media)
        assert encode(new) == encode(old)
        assert list(new) == list(old)


@pytest.mark.parametrize("report", [_REPORT, _INT_REPORT, _LONG], ids=["floats", "ints", "long"])
@pytest.mark.parametrize("media", [[], [_KEYFRAME, _CLIP], [_INT_MEDIA]], ids=len)
def test_report_messages_are_the_json_of_before(
    report: ReportRecord, media: list[MediaRef]
) -> None:
    new = report_message(
        report=report, incident_id="i-1", camera_id="cam-a", event_type="fall", media=media
    )
    assert encode(new) == encode(_legacy_report(report, "i-1", "cam-a", "fall", media))


_NEW = {"state": "new", "disposition": None, "owner": None}
_ACK = {"state": "acknowledged", "disposition": None, "owner": "ana"}
_DONE = {"state": "resolved", "disposition": "false_alarm", "owner": "ana"}
_ENTRIES = [
    AuditEntry(1, 1_700_000_100.25, "ana", "acknowledge", _NEW, _ACK, None),
    AuditEntry(2, 1_700_000_200, "token:ops", "note", _ACK, _ACK, "Checked: é ✓ " * 50),
    AuditEntry(3, 1_700_000_300.5, "ana", "resolve", _ACK, _DONE, "false alarm"),
    AuditEntry(4, 1_700_000_400, "system", "escalate", _NEW, _NEW, None),
]


@pytest.mark.parametrize("entry", _ENTRIES, ids=lambda e: e.action)
def test_action_messages_are_the_json_of_before(entry: AuditEntry) -> None:
    incident = Incident(id="i-1", camera_id="cam-a", event_type="fall")
    new = action_message(incident, entry)
    old = _legacy_action(incident, entry)
    assert encode(new) == encode(old)
    assert list(new) == list(old)
    assert list(new["after"]) == list(old["after"])
    assert mm.ActionMessage.model_validate(new).model_dump() == new
    assert build_action_message(incident, entry).model_dump() == new
    assert_valid_message("actions", new)


def test_action_messages_refuse_unknown_states_and_actions() -> None:
    msg = action_message(Incident(id="i-1", camera_id="cam-a", event_type="fall"), _ENTRIES[2])
    for bad in (
        {**msg, "action": "delete"},
        {**msg, "after": {**_DONE, "state": "closed"}},
        {**msg, "after": {**_DONE, "disposition": "maybe"}},
        {**msg, "message_type": "action"},
    ):
        with pytest.raises(ValueError):
            mm.ActionMessage.model_validate(bad)
        with pytest.raises(AssertionError, match="invalid"):
            assert_valid_message("actions", bad)


def test_media_refs_keep_their_message_form() -> None:
    for ref in (_KEYFRAME, _CLIP, _INT_MEDIA):
        assert encode(ref.to_message()) == encode(_legacy_media(ref))


def test_non_finite_numbers_are_still_refused() -> None:
    bad = replace(make_update("i-1", 1), score=math.nan)
    with pytest.raises(ValueError, match="score must be a finite number"):
        incident_message(update=bad, status="open", camera_name="x", report=None, media=[])
    with pytest.raises(ValueError, match="latency_s must be a finite number"):
        report_message(
            report=replace(_REPORT, latency_s=math.inf),
            incident_id="i-1",
            camera_id="cam-a",
            event_type="fall",
            media=[],
        )


def test_built_messages_validate_against_the_models_and_the_schemas() -> None:
    update, media = _UPDATES[2], [_KEYFRAME, _CLIP]
    inc = incident_message(
        update=update, status="closed", camera_name="Dock", report=_REPORT, media=media
    )
    rep = report_message(
        report=_REPORT, incident_id="i-1", camera_id="cam-a", event_type="fall", media=media
    )
    assert mm.IncidentMessage.model_validate(inc).model_dump() == inc
    assert mm.ReportMessage.model_validate(rep).model_dump() == rep
    assert_valid_message("incidents", inc)
    assert_valid_message("reports", rep)


def test_the_models_are_frozen_and_refuse_unknown_fields() -> None:
    msg = mm.MediaRefMessage.model_validate(_CLIP.to_message())
    with pytest.raises(ValueError, match="frozen"):
        msg.bytes = 1
    with pytest.raises(ValueError, match="Extra inputs"):
        mm.MediaRefMessage.model_validate({**_CLIP.to_message(), "extra": 1})
    with pytest.raises(ValueError, match="pattern"):
        mm.MediaRefMessage.model_validate({**_CLIP.to_message(), "path": "a/../../etc"})


def test_the_literal_names_follow_the_enums() -> None:
    assert get_args(mm.UpdateKindName) == tuple(k.value for k in UpdateKind)
    assert get_args(mm.StatusName) == tuple(s.value for s in IncidentStatus)
    assert get_args(mm.SeverityName) == tuple(s.value for s in Severity)
    assert get_args(mm.WorkflowStateName) == tuple(s.value for s in WorkflowState)
    assert get_args(mm.DispositionName) == tuple(d.value for d in Disposition)
    assert get_args(mm.ActionName) == tuple(a.value for a in Action)
    assert mm.SCHEMA_VERSION == SCHEMA_VERSION == 1
