"""The shift handover summary: a few sentences on the incidents the next shift takes over.

The configured report backend writes it from a fact sheet of the incidents (one
:class:`~reports.evidence.Evidence` and workflow state each, no operator notes: notes are free
text that the grounding check cannot vouch for). Every sentence must pass
:func:`~reports.grounding.check_grounding` against one incident of the facts and may name no
workflow state but that incident's; otherwise (or when the backend fails or cannot write free
text) the deterministic :func:`template_handover` stands, and the result says why.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from reports.evidence import Evidence
from reports.grounding import check_grounding
from reports.llm_base import BackendError, Generator
from reports.template import event_phrases

log = logging.getLogger(__name__)

#: Most incidents put in front of the writer (newest open first, then newest resolved).
MAX_FACTS = 12
#: Longest summary accepted from a writer (characters).
MAX_SUMMARY_CHARS = 1500
#: Most grounding problems quoted in a fallback reason.
MAX_REASONS = 4

SYSTEM_PROMPT = (
    "You write the shift handover for security operators. Use only the facts given. Write one "
    "short sentence per incident, in the order given, naming its event, its camera exactly as "
    "given, its start time exactly as given and its operator state. Never add people, counts, "
    "names, descriptions, causes, places, times or numbers that are not in the facts. Answer "
    "with the sentences only: no list marks, no heading, no JSON."
)

_STATES = ("new", "acknowledged", "investigating", "resolved")
_STATE_WORDS = re.compile(r"\b(new|acknowledged|investigating|under investigation|resolved)\b")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True, slots=True)
class HandoverFact:
    """One incident as the summary may state it."""

    evidence: Evidence
    #: the operators' workflow state (new, acknowledged, investigating, resolved)
    state: str
    #: what a resolved incident turned out to be
    disposition: str | None = None


@dataclass(frozen=True, slots=True)
class HandoverSummary:
    """The summary text and who wrote it."""

    text: str
    backend: str
    model: str | None
    fallback_used: bool
    fallback_reason: str | None


@runtime_checkable
class TextWriter(Protocol):
    """A report backend that can also write free text (not only the JSON of one report)."""

    @property
    def name(self) -> str:
        """Backend name."""
        ...

    @property
    def model(self) -> str | None:
        """Model name."""
        ...

    def write_text(self, messages: list[dict[str, str]]) -> str:
        """The answer to chat ``messages``; raise :class:`BackendError` on failure."""
        ...


def _state_text(fact: HandoverFact) -> str:
    if fact.state == "resolved" and fact.disposition:
        return f"resolved as {fact.disposition.replace('_', ' ')}"
    return fact.state


def fact_lines(facts: Sequence[HandoverFact]) -> str:
    """The fact sheet: one line per incident."""
    lines = []
    for i, f in enumerate(facts, 1):
        ev = f.evidence
        zone = ev.zone or "none"
        lines.append(
            f"- incident {i}: event {ev.event_type.replace('_', ' ')}; camera {ev.camera.name}; "
            f"zone {zone}; started {ev.opened_iso}; operator state {_state_text(f)}"
        )
    return "\n".join(lines)


def template_handover(
    facts: Sequence[HandoverFact], *, open_count: int, resolved_count: int
) -> str:
    """The deterministic summary: the counts, then one sentence per incident of ``facts``."""
    parts = [
        f"{open_count} incident(s) open for the operators, {resolved_count} resolved in this "
        "handover period."
    ]
    for f in facts:
        _, subject = event_phrases(f.evidence.event_type)
        parts.append(
            f"{subject} on camera {f.evidence.camera.name} at {f.evidence.opened_iso}: "
            f"{_state_text(f)}."
        )
    rest = open_count + resolved_count - len(facts)
    if rest > 0:
        parts.append(f"{rest} more incident(s) are listed below.")
    return " ".join(parts)


def _sentence_problems(sentence: str, facts: Sequence[HandoverFact]) -> list[str]:
    """Empty when the sentence is grounded in one incident of ``facts`` (state included)."""
    best: list[str] | None = None
    for f in facts:
        problems = list(check_grounding(sentence, f.evidence))
        for m in _STATE_WORDS.finditer(sentence.lower()):
            word = "investigating" if m[1] == "under investigation" else m[1]
            if word in _STATES and word != f.state:
                problems.append(f"states {word!r} but the incident is {f.state!r}")
        if not problems:
            return []
        if best is None or len(problems) < len(best):
            best = problems
    return best or ["no incident to ground it in"]


def handover_problems(text: str, facts: Sequence[HandoverFact]) -> list[str]:
    """Every problem of a written summary; empty when each sentence is grounded."""
    sentences = [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]
    if not sentences:
        return ["empty summary"]
    problems: list[str] = []
    for s in sentences:
        problems += [f"{s[:60]!r}: {p}" for p in _sentence_problems(s, facts)]
    return problems


def write_handover(
    facts: Sequence[HandoverFact],
    generator: Generator | TextWriter | None,
    *,
    open_count: int,
    resolved_count: int,
) -> HandoverSummary:
    """The backend's summary if it is grounded, else the template's (saying why)."""
    template = template_handover(facts, open_count=open_count, resolved_count=resolved_count)

    def fallback(reason: str | None) -> HandoverSummary:
        return HandoverSummary(template, "template", None, reason is not None, reason)

    if generator is None or not facts:
        return fallback(None)
    who = generator.name + (f" ({generator.model})" if generator.model else "")
    if not isinstance(generator, TextWriter):
        return fallback(f"{who}: this backend cannot write a handover summary")
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": f"Facts:\n{fact_lines(facts)}\n\nWrite the handover."},
    ]
    try:
        text = generator.write_text(messages).strip()
    except BackendError as exc:
        return fallback(f"{who}: {exc}")
    except Exception as exc:  # a backend bug must not fail the handover
        log.exception("reports: %s failed writing the handover", who)
        return fallback(f"{who}: backend error: {type(exc).__name__}: {exc}")
    if len(text) > MAX_SUMMARY_CHARS:
        return fallback(f"{who}: oversized summary ({len(text)} > {MAX_SUMMARY_CHARS} characters)")
    problems = handover_problems(text, facts)
    if problems:
        more = f" (+{len(problems) - MAX_REASONS} more)" if len(problems) > MAX_REASONS else ""
        return fallback(f"{who}: not grounded: " + "; ".join(problems[:MAX_REASONS]) + more)
    return HandoverSummary(text, generator.name, generator.model, False, None)
