"""A small registry of named plugins: scorer profiles, runtime backends, report backends.

A plugin is a :class:`Plugin`: its name (the value of the config field that selects it), the
factory that builds it, the pydantic model of its config section, a one-line description and
an ``unavailable_reason()`` that says why it cannot run here (None when it can).

Each family has one :class:`Registry`. Built-in plugins declare a module-level :class:`Plugin`
and the family's ``builtins`` loader imports those modules on the first lookup (so that heavy
dependencies are imported only when a plugin is built, never at config time). Any other code
adds one with :meth:`Registry.add` or the :meth:`Registry.register` decorator.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel

F = TypeVar("F")


@dataclass(frozen=True, slots=True)
class Plugin(Generic[F]):
    """One named plugin of a family (``factory`` is the family's kind of builder)."""

    name: str
    factory: F
    config: type[BaseModel] | None = None
    description: str = ""
    #: Why it cannot run here, or None when it can (None: always available).
    check: Callable[[], str | None] | None = None
    #: Place in the ``auto`` choice, lowest first; None: never chosen by ``auto``.
    auto_rank: int | None = None

    def unavailable_reason(self) -> str | None:
        """Why this plugin cannot run here, or None when it can."""
        return None if self.check is None else self.check()


class Registry(Generic[F]):
    """Plugins of one family by name; lookups of unknown names list the choices.

    ``key`` is the config key that names a plugin (it starts error messages), ``kind`` what a
    plugin is called in them, ``error`` the exception raised, and ``builtins`` returns the
    built-in plugins (called once, on the first lookup).
    """

    def __init__(
        self,
        kind: str,
        *,
        key: str,
        error: type[Exception] = LookupError,
        builtins: Callable[[], Iterable[Plugin[F]]] | None = None,
    ) -> None:
        self.kind = kind
        self.key = key
        self.error = error
        self._builtins = builtins
        self._plugins: dict[str, Plugin[F]] = {}
        self._lock = threading.RLock()

    def _loaded(self) -> dict[str, Plugin[F]]:
        with self._lock:
            if self._builtins is not None:
                load, self._builtins = self._builtins, None
                ours = dict(self._plugins)
                self._plugins.clear()
                for plugin in load():
                    self.add(plugin)
                for plugin in ours.values():
                    self.add(plugin)
            return self._plugins

    def add(self, plugin: Plugin[F]) -> Plugin[F]:
        """Register ``plugin`` under its name (a name may be registered once)."""
        with self._lock:
            if plugin.name in self._plugins:
                raise ValueError(f"{self.kind} {plugin.name!r} is already registered")
            self._plugins[plugin.name] = plugin
        return plugin

    def register(
        self,
        name: str,
        *,
        config: type[BaseModel] | None = None,
        description: str = "",
        unavailable_reason: Callable[[], str | None] | None = None,
        auto_rank: int | None = None,
    ) -> Callable[[F], F]:
        """Decorator: register the decorated factory as the plugin ``name``."""

        def deco(factory: F) -> F:
            self.add(Plugin(name, factory, config, description, unavailable_reason, auto_rank))
            return factory

        return deco

    def unregister(self, name: str) -> None:
        """Remove the plugin ``name`` (for tests; unknown names are ignored)."""
        with self._lock:
            self._loaded().pop(name, None)

    def names(self) -> tuple[str, ...]:
        """Registered names: the built-ins in their order, then the others as added."""
        return tuple(self._loaded())

    def plugins(self) -> tuple[Plugin[F], ...]:
        """Registered plugins, in the order of :meth:`names`."""
        return tuple(self._loaded().values())

    def __contains__(self, name: object) -> bool:
        return name in self._loaded()

    def get(self, name: str) -> Plugin[F]:
        """The plugin ``name``; raises ``error`` naming the choices when there is none."""
        plugin = self._loaded().get(name)
        if plugin is None:
            raise self.error(
                f"{self.key}: unknown {self.kind} {name!r} (choices: {', '.join(self.names())})"
            )
        return plugin

    def require(self, name: str) -> Plugin[F]:
        """The plugin ``name`` if it can run here; else raises ``error`` with the reason."""
        plugin = self.get(name)
        reason = plugin.unavailable_reason()
        if reason is not None:
            raise self.error(f"{self.key}: {name} cannot run here: {reason}")
        return plugin

    def auto_order(self) -> tuple[Plugin[F], ...]:
        """The plugins ``auto`` may choose, in the order it tries them."""
        ranked = [p for p in self._loaded().values() if p.auto_rank is not None]
        return tuple(sorted(ranked, key=lambda p: p.auto_rank or 0))
