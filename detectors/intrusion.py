"""``intrusion`` per person: a tracked person whose ground point stays inside a zone for a while.

The scorer reports the boxes of the people it sees (``Scores.tracks``, by track id). Each box's
ground point (bottom centre) is placed with the camera's zones (``ZoneFilter``): zones that list
``intrusion`` restrict it to inside them, mask zones drop it, and without a restricting zone a
person anywhere in the picture counts. A counting person's stay starts when they are first seen
counting and ends when they are not seen counting for ``_GAP_S``; the camera's score is that of
its longest stay, so a person outside the zone never hides one inside:

* below ``dwell_s``: 0 (a passer-by does not alert);
* from ``dwell_s``: :data:`DWELL_SCORE`;
* from ``loiter_s``: 1.0, with the cue ``intrusion_loitering = 1`` (the peak rises, so an open
  incident emits an update).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from detectors.settings import ResolvedEventConfig
from detectors.zones import ZoneFilter
from engines.types import Box, Scores

#: Score of a stay of at least ``dwell_s`` (below loitering).
DWELL_SCORE = 0.8
_GAP_S = 1.5  # a stay survives a person unseen (or outside) this long
_TAKE_OVER = 0.08  # a new track this near (normalised) to a just-lost stay continues it


@dataclass
class _Stay:
    """One person's stay inside a counting area."""

    since_ts_s: float
    last_ts_s: float
    zone: str | None
    box: Box

    def ground(self) -> tuple[float, float]:
        """The bottom centre of the last box."""
        return ((self.box[0] + self.box[2]) / 2.0, self.box[3])


@dataclass(frozen=True)
class IntrusionScore:
    """The camera's intrusion score in one frame, with where and for how long."""

    score: float
    zone: str | None
    region: Box | None
    cues: dict[str, float]


class IntrusionRule:
    """Stays of a camera's people inside its zones, turned into an intrusion score."""

    def __init__(self, zones: ZoneFilter, rule: ResolvedEventConfig) -> None:
        self.zones = zones
        self.dwell_s = rule.dwell_s
        self.loiter_s = max(rule.loiter_s, rule.dwell_s)
        self._stays: dict[int, _Stay] = {}

    def update(self, scores: Scores) -> IntrusionScore:
        """Follow each reported person's stay; the score of the longest."""
        ts = scores.ts_s
        tracks = scores.tracks or {}
        for tid, box in tracks.items():
            decision = self.zones.decide("intrusion", box)
            if not decision.counts:
                continue
            stay = self._stays.get(tid) or self._take_over(tid, box, ts)
            if stay is None or ts - stay.last_ts_s > _GAP_S:
                stay = _Stay(ts, ts, decision.zone, box)
            stay.last_ts_s, stay.box = ts, box
            stay.zone = decision.zone or stay.zone
            self._stays[tid] = stay
        self._stays = {k: s for k, s in self._stays.items() if ts - s.last_ts_s <= _GAP_S}
        current = [s for s in self._stays.values() if s.last_ts_s == ts]
        if not current:
            return IntrusionScore(0.0, None, None, {})
        best = max(current, key=lambda s: ts - s.since_ts_s)
        dwell = ts - best.since_ts_s
        loitering = dwell >= self.loiter_s - 1e-9
        if loitering:
            score = 1.0
        elif dwell >= self.dwell_s - 1e-9:
            score = DWELL_SCORE
        else:
            score = 0.0
        cues = {
            "intrusion_dwell_s": round(dwell, 1),
            "intrusion_people": float(len(current)),
            "intrusion_loitering": 1.0 if loitering else 0.0,
        }
        return IntrusionScore(score, best.zone, best.box, cues)

    def _take_over(self, tid: int, box: Box, ts: float) -> _Stay | None:
        """A stay just lost near where a new track starts (the same person, a new track id)."""
        x, y = (box[0] + box[2]) / 2.0, box[3]
        for old, stay in list(self._stays.items()):
            if old == tid or stay.last_ts_s >= ts:
                continue
            gx, gy = stay.ground()
            if math.hypot(gx - x, gy - y) <= _TAKE_OVER:
                del self._stays[old]
                return stay
        return None
