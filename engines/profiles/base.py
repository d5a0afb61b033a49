"""What every scorer profile plugin is: :class:`ScorerProfile`, its two builders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engines.settings import ModelConfig
    from engines.types import Scorer


@dataclass(frozen=True, slots=True)
class ScorerProfile:
    """How a scorer profile plugin builds its scorer and says what it detects.

    ``build(config)`` creates the scorer for a model config (loading weights, runtimes);
    ``detects(config)`` names the event types it can detect, or None when only its weights
    know. ``detects`` runs at config time, so it must import nothing heavy.
    """

    build: Callable[[ModelConfig], Scorer]
    detects: Callable[[ModelConfig], tuple[str, ...] | None]
