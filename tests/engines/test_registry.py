"""The plugin registry and the families built on it: runtime backends, scorer profiles."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from engines.backends import RUNTIME_BACKENDS, RuntimeFactory, choose_backend
from engines.errors import BackendError
from engines.factory import build_scorer
from engines.profiles import SCORER_PROFILES, ScorerProfile
from engines.registry import Plugin, Registry
from engines.settings import ClipConfig, ModelConfig
from engines.types import Scorer


def test_unknown_name_lists_the_choices() -> None:
    reg: Registry[int] = Registry("thing", key="x.kind", error=KeyError)
    reg.add(Plugin("a", 1))
    reg.add(Plugin("b", 2))
    with pytest.raises(KeyError, match=r"x.kind: unknown thing 'c' \(choices: a, b\)"):
        reg.get("c")


def test_unavailable_reason_surfaces_in_the_error() -> None:
    reg: Registry[int] = Registry("thing", key="x.kind", error=RuntimeError)
    reg.add(Plugin("a", 1, check=lambda: "the a package is not installed"))
    with pytest.raises(RuntimeError, match=r"x\.kind: a cannot run here: the a package is not"):
        reg.require("a")


def test_builtins_load_lazily_and_come_first() -> None:
    calls: list[int] = []

    def load() -> list[Plugin[int]]:
        calls.append(1)
        return [Plugin("builtin", 0)]

    reg: Registry[int] = Registry("thing", key="k", builtins=load)
    reg.register("extra")(5)
    assert calls == []
    assert reg.names() == ("builtin", "extra")
    assert reg.names() == ("builtin", "extra") and calls == [1]


def test_runtime_backend_names_match_the_config_literal() -> None:
    allowed = typing.get_args(ClipConfig.model_fields["backend"].annotation)
    assert set(allowed) == {"auto", *RUNTIME_BACKENDS.names()}


def test_a_throwaway_runtime_backend_is_reachable_by_name() -> None:
    def nope(*_: object) -> typing.Any:
        raise AssertionError

    RUNTIME_BACKENDS.add(Plugin("fake", RuntimeFactory(nope, nope)))
    try:
        assert choose_backend("fake") == ("fake", "configured")
    finally:
        RUNTIME_BACKENDS.unregister("fake")
    with pytest.raises(BackendError, match="unknown backend 'fake'"):
        choose_backend("fake")


def test_scorer_profile_names_match_the_config_literal_and_sections() -> None:
    allowed = typing.get_args(ModelConfig.model_fields["profile"].annotation)
    assert set(allowed) == set(SCORER_PROFILES.names())
    for plugin in SCORER_PROFILES.plugins():  # each profile's section is ModelConfig.<name>
        assert ModelConfig.model_fields[plugin.name].annotation is plugin.config


def test_build_scorer_looks_the_profile_up() -> None:
    built: list[ModelConfig] = []
    scorer = typing.cast("Scorer", object())

    def build(config: ModelConfig) -> Scorer:
        built.append(config)
        return scorer

    SCORER_PROFILES.add(Plugin("fake", ScorerProfile(build, lambda _: ("fire",))))
    try:
        cfg = ModelConfig.model_construct(profile="fake")  # type: ignore[arg-type]
        assert build_scorer(cfg) is scorer and built == [cfg]
        assert cfg.detectable_events() == ("fire",)
    finally:
        SCORER_PROFILES.unregister("fake")
    with pytest.raises(ValueError, match=r"model\.profile: unknown profile 'fake' \(choices"):
        build_scorer(cfg)


def test_profile_unavailable_reasons_name_the_missing_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert SCORER_PROFILES.get("cues").unavailable_reason() is None
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a)
    )
    assert SCORER_PROFILES.get("clip").unavailable_reason() == "the torch package is not installed"
    with pytest.raises(ValueError, match=r"model\.profile: clip cannot run here: the torch"):
        SCORER_PROFILES.require("clip")
    assert RUNTIME_BACKENDS.get("torch").unavailable_reason() == (
        "the torch package is not installed"
    )


_LOOK_UP_EVERY_REGISTRY = """
import sys
from engines.backends import RUNTIME_BACKENDS, choose_backend
from engines.profiles import SCORER_PROFILES
from engines.settings import ModelConfig
from reports.backends import REPORT_BACKENDS
for registry in (RUNTIME_BACKENDS, SCORER_PROFILES, REPORT_BACKENDS):
    for name in registry.names():
        registry.get(name).unavailable_reason()
choose_backend("auto", "cpu")
ModelConfig(profile="clip").detectable_events()
heavy = sorted(m for m in ("torch", "transformers", "cv2") if m in sys.modules)
print("imported:", heavy)
assert not heavy, heavy
"""


def test_looking_up_the_registries_imports_no_torch() -> None:
    run = subprocess.run(
        [sys.executable, "-c", _LOOK_UP_EVERY_REGISTRY],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert run.returncode == 0, run.stdout + run.stderr
