"""The ``cues`` scorer profile: weight-free OpenCV cues (:class:`engines.cues.CueScorer`)."""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from engines.profiles.base import ScorerProfile
from engines.registry import Plugin
from engines.settings import CUES_EVENTS, CuesConfig, ModelConfig

if TYPE_CHECKING:
    from engines.types import Scorer


def cues_unavailable_reason() -> str | None:
    """Why the ``cues`` profile cannot run here (OpenCV missing), or None; imports nothing."""
    if importlib.util.find_spec("cv2") is None:
        return "the cv2 package (opencv-python-headless) is not installed"
    return None


def _build(config: ModelConfig) -> Scorer:
    from engines.cues import CueScorer

    return CueScorer(config.cues)


def _detects(config: ModelConfig) -> tuple[str, ...]:
    return CUES_EVENTS


#: The ``cues`` profile (the default): needs no weights, detects fall, fire, smoke and intrusion.
PLUGIN: Plugin[ScorerProfile] = Plugin(
    "cues",
    ScorerProfile(_build, _detects),
    config=CuesConfig,
    description=(
        "Weight-free OpenCV cues and temporal rules; detects fall, fire, smoke and intrusion."
    ),
    check=cues_unavailable_reason,
)
