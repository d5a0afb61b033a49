"""The weight-free ``cues`` scorer: OpenCV features per frame and temporal rules on them.

Per frame (downscaled): motion energy (frame difference), foreground blobs from a background
model (MOG2) with their box geometry, tracked across samples, and fire-coloured regions with a
bright core. Temporal rules over those features score:

* ``fall``: a tracked upright figure (box taller than wide) whose top drops by a large part of its
  height within about a second and ends wider than tall, low on the ground; the score then stays
  high while the figure lies there (confidence grows with stillness) and falls once the figure
  gets up or leaves. Bending, crouching and sitting keep the box near square and do not qualify.
* ``fire``: a stationary flame-coloured region (RGB and YCbCr flame rules, a pale core or strong
  brightness texture) whose outline changes in every sample; once confirmed it holds while the
  region still burns. Clothing, rigid lights (beacons, brake lights) and sunsets do not change
  their outline in place from sample to sample (see ``engines.cues.fire`` on aliasing).

Scores are in ``[0, 1]`` and meant for thresholds near 0.6.

Modules: ``scorer`` (``CueScorer``, the per-frame features), ``state`` (per-camera state and
small maths), ``tracking`` (foreground blobs and their tracks), ``fall`` and ``fire`` (the
temporal rule of each cue family; ``fire_colour`` the flame colour model).
"""

from __future__ import annotations

from engines.cues.scorer import CueScorer

__all__ = ["CueScorer"]
