"""Builds the scorer that a config asks for."""

from __future__ import annotations

from engines.profiles import SCORER_PROFILES
from engines.settings import ModelConfig
from engines.types import Scorer


def build_scorer(config: ModelConfig) -> Scorer:
    """Create the scorer for ``config.profile``: its plugin in :data:`SCORER_PROFILES`."""
    return SCORER_PROFILES.get(config.profile).factory.build(config)
