"""The plugin registry and the runtime-backend family built on it."""

from __future__ import annotations

import typing

import pytest

from engines.backends import RUNTIME_BACKENDS, RuntimeFactory, choose_backend
from engines.errors import BackendError
from engines.registry import Plugin, Registry
from engines.settings import ClipConfig


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
