"""The transformers backend writes the handover summary (``write_text``) on tiny local LMs:
the same generation path and bounds as reports, grounded, or the template with the reason."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reports.evidence import Evidence
from reports.handover import HandoverFact, TextWriter, handover_problems, write_handover
from reports.llm_transformers import TransformersGenerator
from reports.settings import TransformersConfig

pytest.importorskip("torch")
pytest.importorskip("transformers")

Factory = Callable[..., Evidence]


def _gen(model: Path, **kw: Any) -> Iterator[TransformersGenerator]:
    gen = TransformersGenerator(TransformersConfig(model=str(model), device="cpu", **kw))
    try:
        yield gen
    finally:
        gen.close()


@pytest.fixture
def chat(tiny_lm_dirs: dict[str, Path]) -> Iterator[TransformersGenerator]:
    yield from _gen(tiny_lm_dirs["chat"], max_new_tokens=256)


@pytest.fixture
def base(tiny_lm_dirs: dict[str, Path]) -> Iterator[TransformersGenerator]:
    yield from _gen(tiny_lm_dirs["base"], max_new_tokens=256)


@pytest.fixture
def fact(evidence_factory: Factory) -> HandoverFact:
    return HandoverFact(evidence_factory(), "acknowledged")


def _grounded(f: HandoverFact) -> str:
    ev = f.evidence
    text = f"A fall on camera {ev.camera.name} at {ev.opened_iso} was acknowledged."
    assert handover_problems(text, [f]) == []
    return text


def _scripted(gen: TransformersGenerator, answer: str, prompts: list[str]) -> None:
    """Make the loaded model answer ``answer`` token by token, through the real tokenizer and
    the backend's own stopping criteria and token bound (like ``generate`` of transformers)."""
    import torch

    gen.load()
    tok = gen._tokenizer
    script = tok(answer, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]

    def generate(*, input_ids: Any, max_new_tokens: int, stopping_criteria: Any, **_: Any) -> Any:
        prompts.append(tok.decode(input_ids[0]))
        ids = input_ids
        for token in script[:max_new_tokens]:
            ids = torch.cat([ids, torch.tensor([[token]])], dim=1)
            if token == tok.eos_token_id or bool(stopping_criteria(ids, None)[0]):
                break
        return ids

    gen._model.generate = generate


def _write(gen: TransformersGenerator, f: HandoverFact) -> Any:
    return write_handover([f], gen, open_count=1, resolved_count=0)


def test_a_grounded_answer_of_the_chat_model_is_the_summary(
    chat: TransformersGenerator, fact: HandoverFact
) -> None:
    assert isinstance(chat, TextWriter)
    prompts: list[str] = []
    _scripted(chat, _grounded(fact), prompts)
    s = _write(chat, fact)
    assert (s.text, s.backend, s.model, s.fallback_used) == (
        _grounded(fact),
        "transformers",
        "chat",
        False,
    )
    assert prompts[0].startswith("<|system|>You write the shift handover")  # chat template
    assert f"camera {fact.evidence.camera.name}" in prompts[0]
    assert "operator state acknowledged" in prompts[0]


def test_an_ungrounded_answer_falls_back_with_the_reason(
    chat: TransformersGenerator, fact: HandoverFact
) -> None:
    _scripted(chat, "A man fell on camera Gate 9 and was resolved.", [])
    s = _write(chat, fact)
    assert (s.backend, s.model, s.fallback_used) == ("template", None, True)
    assert s.fallback_reason is not None
    assert s.fallback_reason.startswith("transformers (chat): not grounded")
    assert s.text.startswith("1 incident(s) open for the operators")


def test_a_long_answer_stops_at_max_new_tokens_and_falls_back(
    tiny_lm_dirs: dict[str, Path], fact: HandoverFact
) -> None:
    for gen in _gen(tiny_lm_dirs["chat"], max_new_tokens=16):
        _scripted(gen, _grounded(fact) * 5, [])
        s = _write(gen, fact)
        assert s.fallback_used and s.fallback_reason is not None
        assert "not finished within max_new_tokens=16" in s.fallback_reason


def test_the_real_tiny_model_is_bounded_and_falls_back(
    tiny_lm_dirs: dict[str, Path], fact: HandoverFact
) -> None:
    """Random weights write garbage: never the summary, always a reason, within the bound."""
    for gen in _gen(tiny_lm_dirs["chat"], max_new_tokens=16):
        s = _write(gen, fact)
        assert s.backend == "template" and s.fallback_used and s.fallback_reason
        assert s.fallback_reason.startswith("transformers (chat): ")
        assert any(
            why in s.fallback_reason
            for why in ("not finished within max_new_tokens=16", "not grounded", "empty summary")
        ), s.fallback_reason


def test_the_base_model_gets_one_completion_prompt_and_stops_at_a_blank_line(
    base: TransformersGenerator, fact: HandoverFact
) -> None:
    prompts: list[str] = []
    _scripted(base, _grounded(fact) + "\n\nIncident 2: a man ran off.", prompts)
    assert base.write_text([{"role": "user", "content": "Facts"}]) == _grounded(fact)
    assert prompts[0] == "Facts\n\nAnswer: "
    s = _write(base, fact)
    assert (s.text, s.backend, s.model) == (_grounded(fact), "transformers", "base")
    assert "You write the shift handover" in prompts[1] and prompts[1].endswith("Answer: ")


def test_timeout_falls_back_with_the_reason(
    tiny_lm_dirs: dict[str, Path], fact: HandoverFact
) -> None:
    for gen in _gen(tiny_lm_dirs["chat"], timeout_s=1e-6, max_new_tokens=64):
        s = _write(gen, fact)
        assert s.fallback_used
        assert "timeout: generation ran past 1e-06 s" in (s.fallback_reason or "")


def test_a_closed_backend_refuses(chat: TransformersGenerator, fact: HandoverFact) -> None:
    chat.load()
    chat.close()
    s = _write(chat, fact)
    assert s.fallback_used and "stopped" in (s.fallback_reason or "")
