"""Report backends that generate text, and the one place that builds them from the config.

Each backend is a plugin of :data:`REPORT_BACKENDS` declared in its own module (its ``PLUGIN``:
a :data:`~reports.llm_base.GeneratorFactory` with its config section and its
``unavailable_reason``): ``template`` (:mod:`reports.template`), ``transformers``
(:mod:`reports.llm_transformers`) and ``openai`` (:mod:`reports.llm_openai`). The backend types
live in :mod:`reports.llm_base` (re-exported here); the backend modules are imported on the
first lookup, and they import nothing from this module.
"""

from __future__ import annotations

from collections.abc import Iterable

from engines.registry import Plugin, Registry
from reports.llm_base import BackendError, Generator, GeneratorFactory
from reports.settings import ReportsConfig

__all__ = ["REPORT_BACKENDS", "BackendError", "Generator", "GeneratorFactory", "build_generator"]


def _builtin_backends() -> Iterable[Plugin[GeneratorFactory]]:
    from reports import llm_openai, llm_transformers, template

    return (template.PLUGIN, llm_transformers.PLUGIN, llm_openai.PLUGIN)


#: The report backends by name (``reports.backend``). The built-ins are imported on the first
#: lookup.
REPORT_BACKENDS: Registry[GeneratorFactory] = Registry(
    "report backend", key="reports.backend", error=ValueError, builtins=_builtin_backends
)


def build_generator(config: ReportsConfig) -> Generator | None:
    """The generator for ``config.backend``; None for ``template``. Loads nothing yet."""
    return REPORT_BACKENDS.get(config.backend).factory(config)
