"""The ``clip`` scorer profile: CLIP/SigLIP visual encoder with zero-shot or temporal heads.

The scorer is built by :func:`engines.clip.scorer.build_clip_scorer` (imported only then: it
imports torch).
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from engines.profiles.base import ScorerProfile
from engines.registry import Plugin
from engines.settings import ClipConfig, ModelConfig

if TYPE_CHECKING:
    from engines.types import Scorer


def clip_unavailable_reason() -> str | None:
    """Why the ``clip`` profile cannot run here (torch or transformers missing), or None."""
    for pkg in ("torch", "transformers"):
        if importlib.util.find_spec(pkg) is None:
            return f"the {pkg} package is not installed"
    return None


def _build(config: ModelConfig) -> Scorer:
    from engines.clip.scorer import build_clip_scorer

    return build_clip_scorer(config)


def _detects(config: ModelConfig) -> tuple[str, ...] | None:
    if config.clip.uses_temporal_heads:
        return None  # stored with the trained weights
    return tuple(config.clip.zeroshot.prompts)


#: The neural ``clip`` profile (extra ``[clip]``): detects the event types of its heads.
PLUGIN: Plugin[ScorerProfile] = Plugin(
    "clip",
    ScorerProfile(_build, _detects),
    config=ClipConfig,
    description="CLIP/SigLIP visual encoder with zero-shot prompt or trained temporal heads.",
    check=clip_unavailable_reason,
)
