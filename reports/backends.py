"""Report backends that generate text, and the one place that builds them from the config."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from reports.evidence import Evidence
from reports.settings import ReportsConfig
from reports.types import Severity


class BackendError(RuntimeError):
    """A backend could not produce an answer; the message is the reason recorded on the report."""


@runtime_checkable
class Generator(Protocol):
    """Writes the raw answer (JSON text) for one incident; the caller parses and checks it."""

    @property
    def name(self) -> str:
        """Backend name recorded on reports: ``transformers`` or ``openai``."""
        ...

    @property
    def model(self) -> str | None:
        """Model recorded on reports."""
        ...

    def load(self) -> None:
        """Prepare (load a model, …) once; raise :class:`BackendError` when impossible."""
        ...

    def generate(self, evidence: Evidence, severity: Severity) -> str:
        """The model's answer text; raise :class:`BackendError` on failure or timeout."""
        ...

    def close(self) -> None:
        """Release resources and stop a generation in progress."""
        ...


def build_generator(config: ReportsConfig) -> Generator | None:
    """The generator for ``config.backend``; None for ``template``. Loads nothing yet."""
    if config.backend == "transformers":
        from reports.llm_transformers import TransformersGenerator

        return TransformersGenerator(config.transformers)
    if config.backend == "openai":
        from reports.llm_openai import OpenAIGenerator

        return OpenAIGenerator(config.openai, max_answer_chars=config.max_answer_chars)
    return None
