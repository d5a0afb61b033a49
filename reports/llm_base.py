"""What every report backend is: the :class:`Generator` protocol and :class:`BackendError`.

The backends (``reports.llm_transformers``, ``reports.llm_openai``, ``reports.template``)
import these from here and declare their ``PLUGIN``, and ``reports.backends`` registers and
builds them, so no backend module imports the registry that imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeAlias, runtime_checkable

from reports.evidence import Evidence
from reports.types import Severity

if TYPE_CHECKING:
    from reports.settings import ReportsConfig


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


#: What a report backend plugin's factory is: the generator for a reports config (created, not
#: loaded), or None for ``template`` (the template report needs no generator).
GeneratorFactory: TypeAlias = Callable[["ReportsConfig"], Generator | None]
