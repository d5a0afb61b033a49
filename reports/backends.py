"""Report backends that generate text, and the one place that builds them from the config.

The backend types live in :mod:`reports.llm_base` (re-exported here); the backend modules are
imported only inside :func:`build_generator`, and they import nothing from this module.
"""

from __future__ import annotations

from reports.llm_base import BackendError, Generator
from reports.settings import ReportsConfig

__all__ = ["BackendError", "Generator", "build_generator"]


def build_generator(config: ReportsConfig) -> Generator | None:
    """The generator for ``config.backend``; None for ``template``. Loads nothing yet."""
    if config.backend == "transformers":
        from reports.llm_transformers import TransformersGenerator

        return TransformersGenerator(config.transformers)
    if config.backend == "openai":
        from reports.llm_openai import OpenAIGenerator

        return OpenAIGenerator(config.openai, max_answer_chars=config.max_answer_chars)
    return None
