"""Prompt building and answer parsing: pure functions with a fixed output schema.

A model sees only the fact sheet built from an :class:`~reports.evidence.Evidence`
(:func:`fact_sheet`) and must answer with one JSON object of exactly the keys ``title``,
``summary``, ``severity`` and ``action`` (:data:`REPORT_SCHEMA`). Chat models get
:func:`build_messages`; base (completion) models get :func:`build_completion_prompt`, a one-shot
prompt whose example is the template report of a made-up incident of the same type.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from reports.evidence import CameraInfo, Evidence, cue_phrases, fmt_pct, fmt_s
from reports.template import (
    confidence_word,
    event_phrases,
    template_action,
    template_title,
    where_text,
)
from reports.types import Severity

#: JSON schema of a model's answer.
REPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 160},
        "summary": {"type": "string", "minLength": 1, "maxLength": 1200},
        "severity": {"type": "string", "enum": [s.value for s in Severity]},
        "action": {"type": "string", "minLength": 1, "maxLength": 400},
    },
    "required": ["title", "summary", "severity", "action"],
    "additionalProperties": False,
}

SYSTEM_PROMPT = (
    "You write short incident reports for security operators. Use only the facts given. "
    "Never add people, counts, names, descriptions, causes, places, times or numbers that are "
    "not in the facts, and never mention another kind of event. Write camera, zone and times "
    "exactly as given. Copy the severity as given. Answer with one JSON object with exactly the "
    'keys "title" (under 12 words), "summary" (one paragraph of at most 3 sentences), '
    '"severity" and "action" (one sentence), and nothing else.'
)


class Draft(BaseModel):
    """A model's answer, parsed and validated against :data:`REPORT_SCHEMA`."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    title: str = Field(..., min_length=1, max_length=160)
    summary: str = Field(..., min_length=1, max_length=1200)
    severity: Severity
    action: str = Field(..., min_length=1, max_length=400)

    @field_validator("severity", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def text(self) -> str:
        """All generated text, as the grounding check reads it."""
        return f"{self.title}\n{self.summary}\n{self.action}"


class AnswerError(ValueError):
    """A model's answer is not one valid JSON report."""


def fact_sheet(evidence: Evidence, severity: Severity) -> str:
    """The incident facts as lines of ``- key: value``: all a model may use."""
    lines = [
        f"- event: {evidence.event_type.replace('_', ' ')}",
        f"- camera: {evidence.camera.name}",
    ]
    if evidence.camera.location:
        lines.append(f"- camera location: {evidence.camera.location}")
    lines.append(f"- zone: {evidence.zone}" if evidence.zone else "- zone: none")
    lines.append(f"- started: {evidence.opened_iso}")
    if evidence.ongoing:
        lines.append(f"- status: ongoing, {fmt_s(evidence.duration_s)} so far")
    else:
        lines.append(f"- ended: {evidence.closed_iso}")
        lines.append(f"- duration: {fmt_s(evidence.duration_s)}")
    lines.append(
        f"- peak score: {fmt_pct(evidence.peak_score)} "
        f"({confidence_word(evidence.peak_score)} confidence)"
    )
    lines.append(f"- mean score: {fmt_pct(evidence.mean_score)}")
    if evidence.timeline:
        points = ", ".join(f"{fmt_s(p.offset_s)}: {fmt_pct(p.score)}" for p in evidence.timeline)
        lines.append(f"- score over time (time after start: score): {points}")
    if evidence.cues:
        lines.append(f"- detector measurements: {evidence.cue_text}")
    lines.append(f"- severity: {severity.value}")
    lines.append(f"- recommended action: {template_action(evidence, severity)}")
    return "\n".join(lines)


def build_messages(evidence: Evidence, severity: Severity) -> list[dict[str, str]]:
    """Chat messages (system + user) asking for the JSON report of ``evidence``."""
    user = (
        f"Facts:\n{fact_sheet(evidence, severity)}\n\n"
        f"JSON schema of the answer:\n{json.dumps(REPORT_SCHEMA)}\n\n"
        "Write the report as JSON."
    )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


#: How a completion-style answer starts; the model continues after it.
ANSWER_PREFIX = '{"title": "'


def build_completion_prompt(evidence: Evidence, severity: Severity) -> str:
    """A one-shot prompt for base models; the answer continues :data:`ANSWER_PREFIX`."""
    example = example_evidence(evidence)
    _, subject = event_phrases(example.event_type)
    example_answer = json.dumps(
        {
            "title": template_title(example),
            "summary": f"{subject} was seen by {where_text(example)} at {example.opened_iso}, "
            f"peak score {fmt_pct(example.peak_score)}.",
            "severity": severity.value,
            "action": template_action(example, severity),
        },
        ensure_ascii=False,
    )
    return (
        "Incident reports for security operators. Each report is one JSON object that uses "
        "only the facts above it: no other people, counts, names, places, times, numbers or "
        "events.\n\n"
        f"Facts:\n{fact_sheet(example, severity)}\n"
        f"Report: {example_answer}\n\n"
        f"Facts:\n{fact_sheet(evidence, severity)}\n"
        f"Report: {ANSWER_PREFIX}"
    )


def example_evidence(evidence: Evidence) -> Evidence:
    """A made-up incident of the same event type, with other camera, zone, times and values."""
    scaled = {c.name: round(c.value * 0.75, 2) for c in evidence.cues}
    opened = 1741940100.0  # 2025-03-14T08:15:00Z
    duration = round(evidence.duration_s * 0.5 + 7.0, 1)
    return evidence.model_copy(
        update={
            "incident_id": "example",
            "camera": CameraInfo(camera_id="example-cam", name="Side Entrance", location="east"),
            "zone": "aisle" if evidence.zone else None,
            "opened_ts_s": opened,
            "closed_ts_s": None if evidence.ongoing else opened + duration,
            "last_ts_s": opened + duration,
            "duration_s": duration,
            "peak_score": round(max(0.0, evidence.peak_score - 0.07), 2),
            "mean_score": round(max(0.0, evidence.mean_score - 0.05), 2),
            "timeline": (),
            "cues": cue_phrases(scaled),
            "keyframes": (),
        }
    )


def parse_answer(text: str, *, max_chars: int = 4000) -> Draft:
    """Parse a model's answer into a :class:`Draft`.

    Accepts the JSON object alone, in a Markdown code fence, or followed by other text (which is
    ignored). Raises :class:`AnswerError` saying what is wrong.
    """
    if len(text) > max_chars:
        raise AnswerError(f"oversized answer: {len(text)} characters > {max_chars}")
    start = text.find("{")
    if start < 0:
        raise AnswerError(f"malformed answer: no JSON object in {_clip(text)!r}")
    try:
        obj, _ = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise AnswerError(f"malformed JSON: {exc.msg} at char {exc.pos}: {_clip(text)!r}") from exc
    if not isinstance(obj, dict):
        raise AnswerError("malformed answer: the JSON is not an object")
    try:
        return Draft.model_validate(obj)
    except ValidationError as exc:
        issues = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}" for e in exc.errors()
        )
        raise AnswerError(f"answer does not match the schema: {issues}") from exc


def _clip(text: str, n: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"
