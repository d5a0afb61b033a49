"""The report-backend registry: the config Literal, the sections and the lookup agree."""

from __future__ import annotations

import importlib.util
import typing

import pytest

from engines.registry import Plugin
from reports.backends import REPORT_BACKENDS, build_generator
from reports.llm_openai import OpenAIGenerator
from reports.llm_transformers import TransformersGenerator
from reports.settings import ReportsConfig


def test_backend_names_match_the_config_literal_and_sections() -> None:
    allowed = typing.get_args(ReportsConfig.model_fields["backend"].annotation)
    assert set(allowed) == set(REPORT_BACKENDS.names())
    for plugin in REPORT_BACKENDS.plugins():  # a backend's section is ReportsConfig.<name>
        if plugin.config is not None:
            assert ReportsConfig.model_fields[plugin.name].annotation is plugin.config


def test_build_generator_builds_each_builtin() -> None:
    assert build_generator(ReportsConfig()) is None
    assert isinstance(build_generator(ReportsConfig(backend="openai")), OpenAIGenerator)
    gen = build_generator(ReportsConfig(backend="transformers"))
    assert isinstance(gen, TransformersGenerator)


def test_a_throwaway_backend_is_reachable_by_name() -> None:
    REPORT_BACKENDS.add(Plugin("fake", lambda config: None))
    try:
        cfg = ReportsConfig.model_construct(backend="fake")  # type: ignore[arg-type]
        assert build_generator(cfg) is None
    finally:
        REPORT_BACKENDS.unregister("fake")
    with pytest.raises(ValueError, match=r"reports\.backend: unknown report backend 'fake'"):
        build_generator(cfg)


def test_transformers_unavailable_reason_names_the_missing_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert REPORT_BACKENDS.get("template").unavailable_reason() is None
    assert REPORT_BACKENDS.get("openai").unavailable_reason() is None
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "transformers" else real(name, *a),
    )
    reason = REPORT_BACKENDS.get("transformers").unavailable_reason()
    assert reason == "the transformers package is not installed"
