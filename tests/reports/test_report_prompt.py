"""Prompt building and answer parsing (pure functions)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from reports.evidence import Evidence
from reports.llm_transformers import json_object_end
from reports.prompt import (
    ANSWER_PREFIX,
    REPORT_SCHEMA,
    AnswerError,
    build_completion_prompt,
    build_messages,
    fact_sheet,
    parse_answer,
)
from reports.types import Severity

Factory = Callable[..., Evidence]
GOOD = {
    "title": "Fall on camera Loading Dock 1",
    "summary": "A fall was detected at 14:03.",
    "severity": "high",
    "action": "Check on the person.",
}


def test_fact_sheet_holds_the_evidence_and_nothing_else(evidence_factory: Factory) -> None:
    ev = evidence_factory(keyframes=("media/secret-path/kf.jpg",))
    sheet = fact_sheet(ev, Severity.HIGH)
    for fact in (
        "- event: fall",
        "- camera: Loading Dock 1",
        "- camera location: north wall",
        "- zone: restricted",
        "- started: 2026-11-25T14:03:07+01:00",
        "- ended: 2026-11-25T14:03:21+01:00",
        "- duration: 14 s",
        "- peak score: 87% (high confidence)",
        "- mean score: 74%",
        "figure height fell 60% in 0.8 s, then no motion for 12 s",
        "- severity: high",
    ):
        assert fact in sheet
    assert "secret-path" not in sheet and "inc-42" not in sheet
    assert "ongoing" in fact_sheet(evidence_factory(closed=False), Severity.HIGH)
    assert "- zone: none" in fact_sheet(evidence_factory(zone=None), Severity.HIGH)


def test_messages_and_completion_prompt(evidence_factory: Factory) -> None:
    ev = evidence_factory()
    messages = build_messages(ev, Severity.HIGH)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert fact_sheet(ev, Severity.HIGH) in messages[1]["content"]
    assert json.dumps(REPORT_SCHEMA) in messages[1]["content"]
    prompt = build_completion_prompt(ev, Severity.HIGH)
    assert prompt.endswith(f"Report: {ANSWER_PREFIX}")
    assert prompt.count("Facts:") == 2
    example = prompt.split("Facts:")[1]
    assert "Loading Dock 1" not in example and "Side Entrance" in example
    assert build_messages(ev, Severity.HIGH) == messages  # pure


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(GOOD),
        "```json\n" + json.dumps(GOOD, indent=2) + "\n```",
        "Here is the report: " + json.dumps(GOOD) + "\nThanks!",
        json.dumps(GOOD) + '\n\nFacts:\n- event: fall\nReport: {"title": "',
        json.dumps({**GOOD, "severity": " High"}),
    ],
)
def test_parse_answer_accepts_one_json_object(text: str) -> None:
    draft = parse_answer(text)
    assert draft.severity is Severity.HIGH
    assert draft.title == GOOD["title"]
    assert draft.text.splitlines() == [GOOD["title"], GOOD["summary"], GOOD["action"]]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("no json at all", "no JSON object"),
        ('{"title": "Fall", "summary": ', "malformed JSON"),
        ("[1, 2]", "no JSON object"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "action"}), "action: Field required"),
        (json.dumps({**GOOD, "severity": "extreme"}), "severity"),
        (json.dumps({**GOOD, "people": 2}), "people: Extra inputs"),
        (json.dumps({**GOOD, "title": ""}), "title"),
        (json.dumps({**GOOD, "summary": "x" * 5000}), "oversized answer"),
    ],
)
def test_parse_answer_rejects_with_reason(text: str, reason: str) -> None:
    with pytest.raises(AnswerError, match=reason):
        parse_answer(text)


@pytest.mark.parametrize(
    ("text", "end"),
    [
        ('{"a": 1} tail', 8),
        ('x {"a": "}{"} y', 13),
        ('{"a": {"b": "\\"}"}} z', 19),
        ('{"a": ', None),
        ("no braces", None),
    ],
)
def test_json_object_end(text: str, end: int | None) -> None:
    assert json_object_end(text) == end
