"""The transformers backend on tiny random models built from a config (no download)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import pytest

from reports.backends import BackendError, build_generator
from reports.evidence import Evidence
from reports.generate import generate_report
from reports.llm_transformers import TransformersGenerator
from reports.prompt import ANSWER_PREFIX
from reports.settings import ReportsConfig, TransformersConfig
from reports.template import template_report
from reports.types import Severity

pytest.importorskip("torch")
pytest.importorskip("transformers")

Factory = Callable[..., Evidence]


def _config(model: Path | str, **kw: object) -> ReportsConfig:
    return ReportsConfig.model_validate(
        {"backend": "transformers", "transformers": {"model": str(model), **kw}}
    )


def test_loads_once_generates_and_falls_back_on_garbage(
    tiny_lm_dirs: dict[str, Path], evidence_factory: Factory
) -> None:
    config = _config(tiny_lm_dirs["chat"], max_new_tokens=24, device="cpu")
    gen = build_generator(config)
    assert isinstance(gen, TransformersGenerator)
    gen.load()
    model = gen._model
    assert model is not None and gen.device == "cpu"
    ev = evidence_factory()
    report = generate_report(ev, gen, config)
    assert gen._model is model  # loaded once, reused
    assert report.fallback_used
    assert report.backend == "template" and report.model is None
    assert report.fallback_reason is not None
    assert report.fallback_reason.startswith("transformers (chat): ")
    assert any(
        why in report.fallback_reason
        for why in ("malformed", "no JSON object", "not finished within max_new_tokens=24")
    ), report.fallback_reason
    # The stored text is the template's, with the reason recorded.
    assert report.summary == template_report(ev).summary
    gen.close()


def test_token_limit_bounds_generation(
    tiny_lm_dirs: dict[str, Path], evidence_factory: Factory
) -> None:
    gen = TransformersGenerator(
        TransformersConfig(model=str(tiny_lm_dirs["base"]), max_new_tokens=16)
    )
    try:
        text = gen.generate(evidence_factory(), Severity.HIGH)
    except BackendError as exc:
        assert "not finished within max_new_tokens=16" in str(exc)
    else:  # the garbage happened to close a JSON object: still bounded and prefixed
        assert text.startswith(ANSWER_PREFIX)
    finally:
        gen.close()


def test_base_model_gets_the_completion_prompt(
    tiny_lm_dirs: dict[str, Path], evidence_factory: Factory
) -> None:
    config = _config(tiny_lm_dirs["base"], max_new_tokens=16)
    gen = TransformersGenerator(config.transformers)
    gen.load()
    assert gen._chat is False
    report = generate_report(evidence_factory(), gen, config)
    assert report.fallback_used and report.fallback_reason
    assert report.fallback_reason.startswith("transformers (base): ")
    gen.close()
    chat = TransformersGenerator(
        TransformersConfig(model=str(tiny_lm_dirs["base"]), prompt_style="chat")
    )
    with pytest.raises(BackendError, match="prompt_style is chat but the tokenizer"):
        chat.load()


def test_timeout_falls_back_with_reason(
    tiny_lm_dirs: dict[str, Path], evidence_factory: Factory
) -> None:
    config = _config(tiny_lm_dirs["chat"], timeout_s=1e-6, max_new_tokens=64)
    gen = TransformersGenerator(config.transformers)
    report = generate_report(evidence_factory(), gen, config)
    assert report.fallback_used
    assert "timeout: generation ran past 1e-06 s" in (report.fallback_reason or "")
    gen.close()


@pytest.mark.parametrize(
    ("model", "extra", "reason"),
    [
        ("", {}, "no model set (reports.transformers.model is empty)"),
        ("{tmp}/missing-model", {}, "model not found: {tmp}/missing-model"),
        ("{tmp}/empty-folder", {}, "cannot load model '{tmp}/empty-folder'"),
        ("{tmp}/missing.gguf", {}, "model not found: {tmp}/missing.gguf"),
    ],
)
def test_bad_model_falls_back_and_is_remembered(
    tmp_path: Path, evidence_factory: Factory, model: str, extra: dict[str, object], reason: str
) -> None:
    (tmp_path / "empty-folder").mkdir()
    model = model.format(tmp=tmp_path)
    config = _config(model, **extra)
    gen = TransformersGenerator(config.transformers)
    with pytest.raises(BackendError) as first:
        gen.load()
    assert reason.format(tmp=tmp_path) in str(first.value)
    with pytest.raises(BackendError) as second:  # remembered, not retried
        gen.load()
    assert str(second.value) == str(first.value)
    report = generate_report(evidence_factory(), gen, config)
    assert report.fallback_used and reason.format(tmp=tmp_path) in (report.fallback_reason or "")


def test_gguf_file_needs_the_llm_extra(tmp_path: Path, evidence_factory: Factory) -> None:
    gguf_path = tmp_path / "model.gguf"
    gguf_path.write_bytes(b"not really a gguf file")
    gen = TransformersGenerator(TransformersConfig(model=str(gguf_path)))
    assert gen.model == "model.gguf"
    with pytest.raises(BackendError) as err:
        gen.load()
    if importlib.util.find_spec("gguf") is None:
        assert "GGUF models need the 'gguf' package: pip install 'vigil[llm]'" in str(err.value)
    else:
        assert "cannot load model" in str(err.value) and "model.gguf" in str(err.value)


def test_cuda_requested_without_gpu(tiny_lm_dirs: dict[str, Path]) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present: the CUDA-missing error cannot happen here")
    gen = TransformersGenerator(TransformersConfig(model=str(tiny_lm_dirs["chat"]), device="cuda"))
    with pytest.raises(BackendError, match="device is cuda but torch sees no GPU"):
        gen.load()


@pytest.mark.gpu
def test_runs_on_cuda(tiny_lm_dirs: dict[str, Path], evidence_factory: Factory) -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs an NVIDIA GPU with CUDA visible to torch")
    config = _config(tiny_lm_dirs["chat"], device="auto", max_new_tokens=16)
    gen = TransformersGenerator(config.transformers)
    gen.load()
    assert gen.device == "cuda"
    report = generate_report(evidence_factory(), gen, config)
    assert report.fallback_used  # garbage from random weights, on the GPU
    gen.close()
