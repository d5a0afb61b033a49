"""One generated report: prompt → backend → parse → severity → grounding, or the template.

Every failure (backend error, timeout, malformed or oversized answer, wrong severity, a claim
the evidence does not support) yields the template report with ``fallback_used=True`` and the
reason; nothing raises.
"""

from __future__ import annotations

import logging
import time

from reports.evidence import Evidence
from reports.grounding import check_grounding
from reports.llm_base import BackendError, Generator
from reports.prompt import AnswerError, parse_answer
from reports.settings import ReportsConfig
from reports.severity import severity_for
from reports.template import template_report
from reports.types import Report

log = logging.getLogger(__name__)

#: Most grounding problems quoted in a fallback reason.
MAX_REASONS = 4


def generate_report(evidence: Evidence, generator: Generator, config: ReportsConfig) -> Report:
    """The generated report for ``evidence`` if it is valid and grounded, else the template's."""
    started = time.monotonic()
    severity = severity_for(evidence, config.severity)
    who = f"{generator.name}" + (f" ({generator.model})" if generator.model else "")

    def fallback(reason: str) -> Report:
        log.warning(
            "reports: incident %s v%d: %s report rejected, template stands: %s",
            evidence.incident_id,
            evidence.version,
            who,
            reason,
        )
        return template_report(
            evidence,
            severity_rules=config.severity,
            fallback_reason=f"{who}: {reason}",
            latency_s=time.monotonic() - started,
        )

    try:
        answer = generator.generate(evidence, severity)
    except BackendError as exc:
        return fallback(str(exc))
    except Exception as exc:  # a backend bug must not stop the worker
        log.exception("reports: %s failed unexpectedly", who)
        return fallback(f"backend error: {type(exc).__name__}: {exc}")
    try:
        draft = parse_answer(answer, max_chars=config.max_answer_chars)
    except AnswerError as exc:
        return fallback(str(exc))
    if draft.severity is not severity:
        return fallback(
            f"severity {draft.severity.value!r} differs from the rules' {severity.value!r}"
        )
    problems = check_grounding(draft.text, evidence, severity=severity)
    if problems:
        more = f" (+{len(problems) - MAX_REASONS} more)" if len(problems) > MAX_REASONS else ""
        return fallback("not grounded: " + "; ".join(problems[:MAX_REASONS]) + more)
    return Report(
        incident_id=evidence.incident_id,
        incident_version=evidence.version,
        title=draft.title,
        summary=draft.summary,
        severity=severity,
        action=draft.action,
        backend=generator.name,
        model=generator.model,
        latency_s=time.monotonic() - started,
        fallback_used=False,
        fallback_reason=None,
    )
