"""Incident lifecycle: thresholds with hysteresis, minimum duration, merge gap and cooldown.

One :class:`EventTracker` per (camera, event type) turns a stream of scores into incident
updates. Time comes only from the scores' timestamps (and from :meth:`EventTracker.tick`), so
tests drive it with a controllable clock.

States::

    idle --score >= threshold--> pending --held >= min_duration_s--> active   (OPEN)
    pending --score < threshold - hysteresis--> idle
    active --score < threshold - hysteresis--> closing
    closing --score >= threshold within merge_gap_s--> active   (same incident)
    closing --merge_gap_s passed--> idle   (CLOSE, then cooldown_s without new incidents)
    active --open longer than max_duration_s--> idle   (CLOSE)

The incident's opening time is the onset (when the score first crossed the threshold), and its
closing time is when the score fell below the hysteresis threshold.
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence

from detectors.intrusion import IntrusionRule
from detectors.settings import ResolvedEventConfig, ZoneConfig
from detectors.types import IncidentUpdate, ScorePoint, UpdateKind
from detectors.zones import ZoneFilter
from engines.types import Box, Scores

log = logging.getLogger(__name__)

#: Timeline points kept per incident (older points are thinned out).
MAX_TIMELINE = 240


class _State(enum.Enum):
    IDLE = "idle"
    PENDING = "pending"
    ACTIVE = "active"
    CLOSING = "closing"


def new_incident_id() -> str:
    """A random incident id (32 hex digits)."""
    return uuid.uuid4().hex


class EventTracker:
    """Lifecycle of incidents of one event type on one camera."""

    def __init__(
        self,
        camera_id: str,
        event_type: str,
        rule: ResolvedEventConfig,
        *,
        id_factory: Callable[[], str] = new_incident_id,
    ) -> None:
        self.camera_id = camera_id
        self.event_type = event_type
        self.rule = rule
        self._new_id = id_factory
        self._state = _State.IDLE
        self._cooldown_until = float("-inf")
        self._reset_incident()

    def _reset_incident(self) -> None:
        self._incident_id: str | None = None
        self._version = 0
        self._onset_ts = 0.0
        self._onset_pts = 0.0
        self._below_since: float | None = None
        self._peak = 0.0
        self._sum = 0.0
        self._n = 0
        self._last_emit_ts = 0.0
        self._last_ts = 0.0
        self._last_score = 0.0
        self._emitted_peak = 0.0
        self._zone: str | None = None
        self._cues: dict[str, float] = {}
        self._region: Box | None = None
        self._timeline: list[ScorePoint] = []

    @property
    def state(self) -> str:
        """Current state name (idle, pending, active, closing)."""
        return self._state.value

    @property
    def incident_id(self) -> str | None:
        """Id of the open incident, if any."""
        return self._incident_id

    @property
    def in_cooldown_until(self) -> float:
        """Wall-clock time until which no new incident opens."""
        return self._cooldown_until

    def _emit(self, kind: UpdateKind, ts: float, reason: str | None = None) -> IncidentUpdate:
        assert self._incident_id is not None
        self._version += 1
        self._last_emit_ts = ts
        self._emitted_peak = self._peak
        closed = None
        if kind is UpdateKind.CLOSE:
            closed = self._below_since if self._below_since is not None else ts
        return IncidentUpdate(
            incident_id=self._incident_id,
            version=self._version,
            kind=kind,
            camera_id=self.camera_id,
            event_type=self.event_type,
            ts_s=ts,
            opened_ts_s=self._onset_ts,
            closed_ts_s=closed,
            score=self._last_score,
            peak_score=self._peak,
            mean_score=self._sum / self._n if self._n else 0.0,
            zone=self._zone,
            onset_pts_s=self._onset_pts,
            cues=dict(self._cues),
            timeline=tuple(self._timeline),
            close_reason=reason,
            region=self._region,
        )

    def _observe(
        self, ts: float, score: float, cues: Mapping[str, float], region: Box | None = None
    ) -> None:
        if region is not None:
            self._region = region
        self._peak = max(self._peak, score)
        self._sum += score
        self._n += 1
        self._last_score = score
        self._last_ts = ts
        mine = {k: v for k, v in cues.items() if k.startswith(self.event_type + "_")}
        if mine:
            self._cues = mine
        if not self._timeline or ts - self._timeline[-1].ts_s >= 0.999:
            self._timeline.append(ScorePoint(ts, round(score, 4)))
            if len(self._timeline) > MAX_TIMELINE:
                # keep the first point, thin the rest by half
                self._timeline = [self._timeline[0], *self._timeline[1::2]]

    def update(
        self,
        ts_s: float,
        score: float,
        *,
        pts_s: float = 0.0,
        zone: str | None = None,
        cues: Mapping[str, float] | None = None,
        region: Box | None = None,
    ) -> list[IncidentUpdate]:
        """Feed one score (in time order); returns the updates it caused.

        ``region`` is where the scorer saw the event in this frame (kept with the incident).
        """
        cues = cues or {}
        rule = self.rule
        out: list[IncidentUpdate] = []
        if ts_s < self._last_ts - 1e-9 and self._state is not _State.IDLE:
            log.warning(
                "camera %s %s: score at %.3f is older than the last one (%.3f); ignored",
                self.camera_id,
                self.event_type,
                ts_s,
                self._last_ts,
            )
            return out
        out.extend(self.tick(ts_s))
        on = score >= rule.threshold
        held = score >= rule.off_threshold
        st = self._state
        if st is _State.IDLE:
            if on and ts_s >= self._cooldown_until and rule.enabled:
                self._start(out, ts_s, score, pts_s, zone, cues, region)
        elif st is _State.PENDING:
            self._pending(out, held, ts_s, score, zone, cues, region)
        elif st is _State.ACTIVE:
            self._active(out, held, ts_s, score, cues, region)
        elif on:  # closing, and the score is back above the threshold: the same incident
            self._state = _State.ACTIVE
            self._below_since = None
            self._observe(ts_s, score, cues, region)
        return out

    def _start(
        self,
        out: list[IncidentUpdate],
        ts_s: float,
        score: float,
        pts_s: float,
        zone: str | None,
        cues: Mapping[str, float],
        region: Box | None,
    ) -> None:
        """Idle, score over the threshold: pending from this onset (open at once without a
        minimum duration)."""
        self._reset_incident()
        self._state = _State.PENDING
        self._onset_ts = ts_s
        self._onset_pts = pts_s
        self._zone = zone
        self._observe(ts_s, score, cues, region)
        if self.rule.min_duration_s <= 0:
            self._open(out, ts_s)

    def _pending(
        self,
        out: list[IncidentUpdate],
        held: bool,
        ts_s: float,
        score: float,
        zone: str | None,
        cues: Mapping[str, float],
        region: Box | None,
    ) -> None:
        """Pending: back to idle when the score drops, open once held for the minimum duration."""
        if not held:
            self._state = _State.IDLE
            self._reset_incident()
            return
        self._observe(ts_s, score, cues, region)
        if zone and not self._zone:
            self._zone = zone
        if ts_s - self._onset_ts >= self.rule.min_duration_s - 1e-9:
            self._open(out, ts_s)

    def _active(
        self,
        out: list[IncidentUpdate],
        held: bool,
        ts_s: float,
        score: float,
        cues: Mapping[str, float],
        region: Box | None,
    ) -> None:
        """Active: start closing when the score drops, close at the maximum duration, else
        emit an update every ``update_interval_s`` or when the peak rose by 0.1."""
        rule = self.rule
        self._observe(ts_s, score, cues, region)
        if not held:
            self._state = _State.CLOSING
            self._below_since = ts_s
            return
        if ts_s - self._onset_ts >= rule.max_duration_s:
            out.append(self._close(ts_s, "max_duration"))
            return
        if (
            ts_s - self._last_emit_ts >= rule.update_interval_s
            or self._peak >= self._emitted_peak + 0.1
        ):
            out.append(self._emit(UpdateKind.UPDATE, ts_s))

    def _open(self, out: list[IncidentUpdate], ts_s: float) -> None:
        self._state = _State.ACTIVE
        self._incident_id = self._new_id()
        out.append(self._emit(UpdateKind.OPEN, ts_s))

    def _close(self, ts_s: float, reason: str) -> IncidentUpdate:
        upd = self._emit(UpdateKind.CLOSE, ts_s, reason)
        closed = upd.closed_ts_s if upd.closed_ts_s is not None else ts_s
        self._cooldown_until = closed + self.rule.cooldown_s
        self._state = _State.IDLE
        self._reset_incident()
        return upd

    def tick(self, now_ts_s: float) -> list[IncidentUpdate]:
        """Advance time without a score: a closing incident closes once its merge gap passed."""
        if (
            self._state is _State.CLOSING
            and self._below_since is not None
            and now_ts_s - self._below_since >= self.rule.merge_gap_s - 1e-9
        ):
            return [self._close(now_ts_s, "score_dropped")]
        return []

    def finish(self, ts_s: float, reason: str) -> list[IncidentUpdate]:
        """Close an open incident now (stream ended, camera removed, shutdown)."""
        if self._state in (_State.ACTIVE, _State.CLOSING):
            if self._below_since is None:
                self._below_since = max(ts_s, self._last_ts)
            return [self._close(ts_s, reason)]
        if self._state is _State.PENDING:
            self._state = _State.IDLE
            self._reset_incident()
        return []


class CameraDetector:
    """All event trackers of one camera, with its zones."""

    def __init__(
        self,
        camera_id: str,
        rules: Mapping[str, ResolvedEventConfig],
        zones: Sequence[ZoneConfig] = (),
        *,
        id_factory: Callable[[], str] = new_incident_id,
    ) -> None:
        self.camera_id = camera_id
        self.zones = ZoneFilter(zones)
        self.trackers = {
            ev: EventTracker(camera_id, ev, rule, id_factory=id_factory)
            for ev, rule in rules.items()
            if rule.enabled
        }
        intrusion = self.trackers.get("intrusion")
        self._intrusion = IntrusionRule(self.zones, intrusion.rule) if intrusion else None

    def update(self, scores: Scores) -> list[IncidentUpdate]:
        """Feed one frame's scores; returns the incident updates they caused."""
        if scores.camera_id != self.camera_id:
            raise ValueError(
                f"scores of camera {scores.camera_id!r} fed to detector of {self.camera_id!r}"
            )
        out: list[IncidentUpdate] = []
        for ev, tracker in self.trackers.items():
            if ev == "intrusion" and self._intrusion is not None and scores.tracks is not None:
                # per person, inside the zones, with a dwell time (detectors.intrusion)
                it = self._intrusion.update(scores)
                cues = {**scores.cues, **it.cues}
                out.extend(
                    tracker.update(
                        scores.ts_s, it.score, pts_s=scores.pts_s, zone=it.zone, cues=cues,
                        region=it.region,
                    )
                )  # fmt: skip
                continue
            score = scores.score(ev)
            decision = self.zones.decide(ev, scores.regions.get(ev))
            if not decision.counts:
                score = 0.0
            out.extend(
                tracker.update(
                    scores.ts_s,
                    score,
                    pts_s=scores.pts_s,
                    zone=decision.zone,
                    cues=scores.cues,
                    region=scores.regions.get(ev),
                )
            )
        return out

    def tick(self, now_ts_s: float) -> list[IncidentUpdate]:
        """Advance time with no new frame (closes incidents whose merge gap passed)."""
        return [u for t in self.trackers.values() for u in t.tick(now_ts_s)]

    def finish(self, ts_s: float, reason: str) -> list[IncidentUpdate]:
        """Close every open incident of this camera."""
        return [u for t in self.trackers.values() for u in t.finish(ts_s, reason)]

    def open_incidents(self) -> list[str]:
        """Ids of incidents currently open on this camera."""
        return [t.incident_id for t in self.trackers.values() if t.incident_id]
