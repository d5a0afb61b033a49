"""Scorer profiles (``model.profile``): how each builds its scorer and what it detects.

``cues`` (weight-free OpenCV cues) and ``clip`` (the neural CLIP/SigLIP profile), each a plugin
of :data:`SCORER_PROFILES` declared in its own module (its ``PLUGIN``: a
:class:`~engines.profiles.base.ScorerProfile` with its config section and its
``unavailable_reason``). These modules import nothing heavy; the scorer modules (OpenCV,
torch) are imported only when a scorer is built.
"""

from __future__ import annotations

from collections.abc import Iterable

from engines.profiles.base import ScorerProfile
from engines.registry import Plugin, Registry

__all__ = ["SCORER_PROFILES", "ScorerProfile"]


def _builtin_profiles() -> Iterable[Plugin[ScorerProfile]]:
    from engines.profiles import clip, cues

    return (cues.PLUGIN, clip.PLUGIN)


#: The scorer profiles by name (``model.profile``). The built-ins are imported on the first
#: lookup.
SCORER_PROFILES: Registry[ScorerProfile] = Registry(
    "profile", key="model.profile", error=ValueError, builtins=_builtin_profiles
)
