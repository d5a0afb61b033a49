"""The weight-free ``cues`` scorer: OpenCV features per frame and temporal rules on them.

Per frame (downscaled), after registering the frame to the camera's reference view and
correcting its exposure (``motion``: a shaking view is stabilised, a pan or zoom relearns the
background, an exposure step is divided out): motion energy (frame difference), foreground
blobs from a background model (MOG2) with their box geometry, tracked across samples, and
fire-coloured regions with a bright core. Temporal rules over those features score:

* ``fall``: a tracked upright figure (box taller than wide) whose top drops by a large part of its
  height within about a second and ends wider than tall, wider than it stood and low on the
  ground, where the image changed (not a background-model ghost), with its box clear of the
  frame's edges (a figure cut off by the border says nothing) and the view steady; the score
  then stays high while the figure lies there (confidence grows with stillness, and a lighting
  change alone does not end it) and falls once the figure gets up or leaves. Bending,
  crouching and sitting keep the box near square and do not qualify.
* ``fire``: a stationary flame-coloured region (RGB and YCbCr flame rules, a pale core or strong
  brightness texture) whose outline changes in every sample; once confirmed it holds while the
  region still burns. Clothing, rigid lights (beacons, brake lights) and sunsets do not change
  their outline in place from sample to sample (see ``engines.cues.fire`` on aliasing).
* ``smoke``: a grey, soft-edged region that lowers the local contrast against a slowly learned
  reference, grows and rises, in place; not a veil over most of the frame (fog, haze, flat
  lighting), not a person's box (``smoke``).
* ``intrusion``: the scorer reports the people it sees (upright tracks that walked in, kept while
  they stand still) as ``Scores.tracks``; ``detectors.intrusion`` scores each person's stay inside
  the camera's zones with a dwell time (``people``).

Scores are in ``[0, 1]`` and meant for thresholds near 0.6.

Modules: ``scorer`` (``CueScorer``, the per-frame features), ``motion`` (the view's own motion
and exposure), ``state`` (per-camera state and small maths), ``tracking`` (foreground blobs and
their tracks), ``fall``, ``fire`` and ``smoke`` (the temporal rule of each cue family;
``fire_colour`` the flame colour model), ``people`` (people for intrusion, and the state of both).
"""

from __future__ import annotations

from engines.cues.scorer import CueScorer

__all__ = ["CueScorer"]
