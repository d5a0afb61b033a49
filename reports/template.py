"""The deterministic template report: always available, the default and the fallback.

It states what (the event type in plain words), where (camera name, location, zone), when (ISO
8601 with the site's UTC offset), how sure (peak score as a percentage and a word) and how long
(the duration, or ``ongoing``), then the detector's cues. Same evidence, same text.
"""

from __future__ import annotations

from engines.catalogue import CATALOGUE
from engines.registry import Plugin
from reports.evidence import Evidence, fmt_pct, fmt_s
from reports.llm_base import GeneratorFactory
from reports.settings import ReportsConfig, SeverityConfig
from reports.severity import severity_for
from reports.types import Report, Severity

#: Event types in plain words: (title noun, sentence subject).
EVENT_PHRASES: dict[str, tuple[str, str]] = {ev.name: ev.phrases for ev in CATALOGUE.values()}

#: What an operator should do, per event type.
ACTIONS: dict[str, str] = {ev.name: ev.action for ev in CATALOGUE.values()}
_DEFAULT_ACTION = "Review the live view and the keyframes and decide on a response."


def event_phrases(event_type: str) -> tuple[str, str]:
    """Title noun and sentence subject for an event type (unknown types read generically)."""
    if event_type in EVENT_PHRASES:
        return EVENT_PHRASES[event_type]
    words = event_type.replace("_", " ").strip() or "event"
    return (f"{words[:1].upper()}{words[1:]} event", f"A {words} event")


def confidence_word(score: float) -> str:
    """A 0..1 score in one word: very high, high, moderate or low."""
    if score >= 0.9:
        return "very high"
    if score >= 0.75:
        return "high"
    if score >= 0.5:
        return "moderate"
    return "low"


def where_text(evidence: Evidence) -> str:
    """``camera Dock 1 (north wall), zone restricted``."""
    text = f"camera {evidence.camera.name}"
    if evidence.camera.location:
        text += f" ({evidence.camera.location})"
    if evidence.zone:
        text += f", {zone_label(evidence.zone)}"
    return text


def zone_label(zone: str) -> str:
    """``zone restricted``; a zone already named ``Zone 3`` stays as it is."""
    return zone if zone.lower().startswith("zone") else f"zone {zone}"


def template_title(evidence: Evidence) -> str:
    """``Fall on camera Dock 1, zone restricted``."""
    noun, _ = event_phrases(evidence.event_type)
    title = f"{noun} on camera {evidence.camera.name}"
    if evidence.zone:
        title += f", {zone_label(evidence.zone)}"
    return title


#: Closes that ended the observation, not the event: the report must not claim the event ended.
_OBSERVATION_STOPS = {
    "stream_ended": "the video stream ended",
    "shutdown": "monitoring was stopped",
    "camera_removed": "the camera was removed",
    "max_duration": "the incident reached its maximum duration",
}


def template_summary(evidence: Evidence) -> str:
    """One paragraph: what, where, when, how long, how sure, and the cues."""
    _, subject = event_phrases(evidence.event_type)
    parts = [f"{subject} was detected by {where_text(evidence)} at {evidence.opened_iso}."]
    if evidence.ongoing:
        parts.append(f"It is ongoing ({fmt_s(evidence.duration_s)} so far).")
    elif evidence.close_reason in _OBSERVATION_STOPS:
        parts.append(
            f"It was still present after {fmt_s(evidence.duration_s)}, when "
            f"{_OBSERVATION_STOPS[evidence.close_reason]} at {evidence.closed_iso}."
        )
    else:
        parts.append(f"It lasted {fmt_s(evidence.duration_s)} and ended at {evidence.closed_iso}.")
    parts.append(
        f"Peak score {fmt_pct(evidence.peak_score)} ({confidence_word(evidence.peak_score)} "
        f"confidence), mean {fmt_pct(evidence.mean_score)}."
    )
    if evidence.cues:
        parts.append(f"Detector cues: {evidence.cue_text}.")
    return " ".join(parts)


def template_action(evidence: Evidence, severity: Severity) -> str:
    """The recommended action for the event type, urgent when critical."""
    action = ACTIONS.get(evidence.event_type, _DEFAULT_ACTION)
    return (
        f"Immediately: {action[:1].lower()}{action[1:]}"
        if severity is Severity.CRITICAL
        else action
    )


def template_report(
    evidence: Evidence,
    *,
    severity_rules: SeverityConfig | None = None,
    fallback_reason: str | None = None,
    latency_s: float = 0.0,
) -> Report:
    """The deterministic report for ``evidence`` (``backend="template"``).

    With ``fallback_reason`` it records that it stands in for a rejected or failed generated
    report.
    """
    severity = severity_for(evidence, severity_rules)
    return Report(
        incident_id=evidence.incident_id,
        incident_version=evidence.version,
        title=template_title(evidence),
        summary=template_summary(evidence),
        severity=severity,
        action=template_action(evidence, severity),
        backend="template",
        model=None,
        latency_s=latency_s,
        fallback_used=fallback_reason is not None,
        fallback_reason=fallback_reason,
    )


def _no_generator(config: ReportsConfig) -> None:
    return None


#: The ``template`` report backend (the default): no generator, the template report stands.
PLUGIN: Plugin[GeneratorFactory] = Plugin(
    "template",
    _no_generator,
    description="The deterministic template report; always available, and the fallback.",
)
