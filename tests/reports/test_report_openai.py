"""The openai backend against a real HTTP server on 127.0.0.1 speaking chat completions."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from reports_helpers import ChatServer, Reply, completion, free_port

from reports.evidence import Evidence
from reports.generate import generate_report
from reports.llm_openai import OpenAIGenerator, public_url
from reports.settings import ReportsConfig
from reports.template import template_report
from reports.types import Severity

Factory = Callable[..., Evidence]

GROUNDED = {
    "title": "Fall detected on camera Loading Dock 1",
    "summary": "At 14:03 on 25 November 2026 camera Loading Dock 1 (north wall) saw a fall in "
    "zone restricted: the figure's height dropped 60% in 0.8 s and it then stayed still for "
    "12 seconds. The incident lasted 14 s with a peak score of 87%.",
    "severity": "high",
    "action": "Check on the person right away and call emergency services if needed.",
}


def _config(base_url: str, **kw: Any) -> ReportsConfig:
    return ReportsConfig.model_validate(
        {
            "backend": "openai",
            "openai": {"base_url": base_url, "model": "test-model", "timeout_s": 5.0, **kw},
        }
    )


def _run(server_url: str, ev: Evidence, **kw: Any) -> Any:
    config = _config(server_url, **kw)
    gen = OpenAIGenerator(config.openai, max_answer_chars=config.max_answer_chars)
    try:
        return generate_report(ev, gen, config)
    finally:
        gen.close()


def test_grounded_answer_is_accepted(
    chat_server: ChatServer, evidence_factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIL_TEST_LLM_KEY", "sk-test-123")
    chat_server.respond = lambda req: completion(json.dumps(GROUNDED))
    report = _run(chat_server.base_url, evidence_factory(), api_key_env="VIGIL_TEST_LLM_KEY")
    assert not report.fallback_used and report.fallback_reason is None
    assert (report.backend, report.model) == ("openai", "test-model")
    assert report.title == GROUNDED["title"] and report.summary == GROUNDED["summary"]
    assert report.severity is Severity.HIGH and report.latency_s > 0
    headers, body = chat_server.requests[0]
    assert headers["Authorization"] == "Bearer sk-test-123"
    assert body["model"] == "test-model"
    assert body["response_format"] == {"type": "json_object"}
    assert body["max_tokens"] == 400 and body["temperature"] == 0.0
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "- camera: Loading Dock 1" in body["messages"][1]["content"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"summary": "Two people fell on camera Loading Dock 1 at 14:03."}, "count 'Two people'"),
        ({"title": "Fall on camera Gate 3"}, "camera 'Gate"),
        ({"summary": "A fall was detected at 16:45 on camera Loading Dock 1."}, "time '16:45'"),
        ({"title": "Fire on camera Loading Dock 1"}, "mentions 'fire' (fire)"),
        ({"severity": "low"}, "severity 'low' differs from the rules' 'high'"),
    ],
)
def test_hallucinated_answer_is_rejected(
    chat_server: ChatServer, evidence_factory: Factory, change: dict[str, str], reason: str
) -> None:
    chat_server.respond = lambda req: completion(json.dumps({**GROUNDED, **change}))
    ev = evidence_factory()
    report = _run(chat_server.base_url, ev)
    assert report.fallback_used and report.backend == "template"
    assert report.fallback_reason is not None
    assert report.fallback_reason.startswith("openai (test-model): ")
    assert reason in report.fallback_reason
    assert report.summary == template_report(ev).summary


@pytest.mark.parametrize(
    ("reply", "kw", "reason"),
    [
        (Reply(status=500, body=b'{"error": "model crashed"}'), {}, "HTTP 500"),
        (Reply(body=b"<html>not json</html>"), {}, "malformed response"),
        (Reply(body=b'{"choices": []}'), {}, "malformed response"),
        (completion("I think there was a fall, maybe."), {}, "no JSON object"),
        (completion('{"title": "Fall", "summary": "A fa'), {}, "malformed JSON"),
        (completion(json.dumps(GROUNDED), finish_reason="length"), {}, "cut at max_tokens=400"),
        (completion("x" * 5000), {}, "oversized answer: 5000 characters > 4000"),
        (Reply(body=b"x" * 200_000), {}, "oversized response"),
        (Reply(delay_s=30.0), {"timeout_s": 0.5}, "timeout"),
    ],
)
def test_bad_answers_fall_back(
    chat_server: ChatServer,
    evidence_factory: Factory,
    reply: Reply,
    kw: dict[str, Any],
    reason: str,
) -> None:
    chat_server.respond = lambda req: reply
    report = _run(chat_server.base_url, evidence_factory(), **kw)
    assert report.fallback_used, report
    assert reason in (report.fallback_reason or ""), report.fallback_reason


def test_unreachable_server_falls_back(evidence_factory: Factory) -> None:
    url = f"http://user:hunter2@127.0.0.1:{free_port()}/v1"
    report = _run(url, evidence_factory())
    assert report.fallback_used
    reason = report.fallback_reason or ""
    assert "server unreachable at http://127.0.0.1:" in reason
    assert "hunter2" not in reason


def test_json_mode_auto_retries_without_response_format(
    chat_server: ChatServer, evidence_factory: Factory
) -> None:
    def respond(req: dict[str, Any]) -> Reply:
        if "response_format" in req:
            return Reply(status=400, body=b'{"error": "response_format is not supported"}')
        return completion(json.dumps(GROUNDED))

    chat_server.respond = respond
    config = _config(chat_server.base_url)
    gen = OpenAIGenerator(config.openai)
    try:
        assert not generate_report(evidence_factory(), gen, config).fallback_used
        assert not generate_report(evidence_factory(), gen, config).fallback_used
    finally:
        gen.close()
    assert ["response_format" in body for _, body in chat_server.requests] == [True, False, False]


def test_json_mode_off_and_no_model(chat_server: ChatServer, evidence_factory: Factory) -> None:
    chat_server.respond = lambda req: completion(json.dumps(GROUNDED))
    assert not _run(chat_server.base_url, evidence_factory(), json_mode="off").fallback_used
    assert "response_format" not in chat_server.requests[0][1]
    report = _run(chat_server.base_url, evidence_factory(), model="")
    assert "no model set (reports.openai.model is empty)" in (report.fallback_reason or "")


def test_public_url_hides_credentials() -> None:
    assert public_url("https://u:p@llm.example:8443/v1?api_key=x") == "https://llm.example:8443/v1"
