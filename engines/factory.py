"""Builds the scorer that a config asks for."""

from __future__ import annotations

import logging

from engines.settings import ModelConfig
from engines.types import Scorer

log = logging.getLogger(__name__)


def build_scorer(config: ModelConfig) -> Scorer:
    """Create the scorer for ``config.profile`` (``cues`` needs no weights)."""
    if config.profile == "cues":
        from engines.cues import CueScorer

        return CueScorer(config.cues)
    if config.profile == "clip":
        from engines.clip.scorer import build_clip_scorer

        return build_clip_scorer(config)
    raise ValueError(f"unknown model profile {config.profile!r}")
