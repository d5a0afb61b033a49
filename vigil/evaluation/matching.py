"""Event-level matching of incidents to ground truth, and the metrics built on it (pure).

An incident matches a truth event of its type if it opens within ``[start - 1 s, start + 3 s]``
(:data:`BEFORE_S`, :data:`AFTER_S`); each event takes at most one incident (the earliest that
opens in its window) and each incident matches at most one event. Incidents that match no event
are false positives, a second incident in an event's window included. A clip-level event
(no start) matches the first incident of its type anywhere in the clip.

Coverage of an event is the share of its span during which an incident of its type is open
(any such incident, so a detector that closes and reopens during a long event still covers it
for the time it is open). False alarms per camera-hour count the incidents on negative clips
(no events at all) over the hours of those clips.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from vigil.evaluation.types import ClipResult, Incident, TruthSpan

BEFORE_S = 1.0
AFTER_S = 3.0


@dataclass(frozen=True)
class Match:
    """A truth event and the incident that matched it (``latency_s`` None: clip-level)."""

    event: TruthSpan
    incident: Incident
    latency_s: float | None


@dataclass
class ClipMatch:
    """The outcome of one event type on one clip."""

    event_type: str
    matches: list[Match] = field(default_factory=list)
    missed: list[TruthSpan] = field(default_factory=list)
    false_positives: list[Incident] = field(default_factory=list)
    #: coverage of each timed event, in the order of the clip's events
    coverage: list[float] = field(default_factory=list)


@dataclass
class TypeMetrics:
    """The figures of one event type over the whole set."""

    event_type: str
    events: int = 0
    matched: int = 0
    missed: int = 0
    false_positives: int = 0
    incidents: int = 0
    latencies_s: list[float] = field(default_factory=list)
    coverages: list[float] = field(default_factory=list)
    negative_clips: int = 0
    negative_hours: float = 0.0
    false_alarms: int = 0

    @property
    def precision(self) -> float | None:
        """Matched incidents over all incidents (None: no incident)."""
        return _ratio(self.matched, self.matched + self.false_positives)

    @property
    def recall(self) -> float | None:
        """Matched events over all events (None: no event)."""
        return _ratio(self.matched, self.events)

    @property
    def f1(self) -> float | None:
        """2 TP / (2 TP + FP + FN) (None: no event and no incident)."""
        return _ratio(2 * self.matched, 2 * self.matched + self.false_positives + self.missed)

    @property
    def latency_p50_s(self) -> float | None:
        """Median onset latency of the matched events."""
        return percentile(self.latencies_s, 50)

    @property
    def latency_p95_s(self) -> float | None:
        """95th percentile of the onset latency."""
        return percentile(self.latencies_s, 95)

    @property
    def coverage(self) -> float | None:
        """Mean coverage of the timed events (missed ones count 0)."""
        return sum(self.coverages) / len(self.coverages) if self.coverages else None

    @property
    def false_alarms_per_hour(self) -> float | None:
        """Incidents per camera-hour of negative footage (None: no negative footage)."""
        return self.false_alarms / self.negative_hours if self.negative_hours > 0 else None

    def as_dict(self) -> dict[str, float | int | None]:
        """The figures as a flat mapping (JSON)."""
        return {
            "events": self.events,
            "matched": self.matched,
            "missed": self.missed,
            "false_positives": self.false_positives,
            "incidents": self.incidents,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "latency_p50_s": self.latency_p50_s,
            "latency_p95_s": self.latency_p95_s,
            "coverage": self.coverage,
            "negative_clips": self.negative_clips,
            "negative_hours": self.negative_hours,
            "false_alarms": self.false_alarms,
            "false_alarms_per_hour": self.false_alarms_per_hour,
        }


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile with linear interpolation (None: no values)."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def in_window(event: TruthSpan, incident: Incident) -> bool:
    """True if ``incident`` opens within the matching window of ``event``."""
    if incident.event_type != event.event_type:
        return False
    if event.start_s is None:
        return True
    return event.start_s - BEFORE_S <= incident.opened_s <= event.start_s + AFTER_S


def coverage(event: TruthSpan, incidents: Sequence[Incident], clip_end_s: float) -> float | None:
    """Share of the event's span during which an incident of its type is open."""
    if event.start_s is None:
        return None
    start = event.start_s
    end = event.end_s if event.end_s is not None else clip_end_s
    if end <= start:
        return None
    spans = sorted(
        (max(start, i.opened_s), min(end, i.closed_s if i.closed_s is not None else clip_end_s))
        for i in incidents
        if i.event_type == event.event_type
    )
    covered, reach = 0.0, start
    for lo, hi in spans:
        lo = max(lo, reach)
        if hi > lo:
            covered += hi - lo
            reach = hi
    return covered / (end - start)


def match_clip(
    events: Sequence[TruthSpan],
    incidents: Sequence[Incident],
    event_type: str,
    *,
    clip_end_s: float,
) -> ClipMatch:
    """Match one event type's incidents on one clip to its truth events."""
    mine = [e for e in events if e.event_type == event_type]
    theirs = sorted((i for i in incidents if i.event_type == event_type), key=lambda i: i.opened_s)
    out = ClipMatch(event_type)
    taken: set[int] = set()
    timed_first = sorted(mine, key=lambda e: (e.start_s is None, e.start_s or 0.0))
    for ev in timed_first:
        pick = next(
            (k for k, inc in enumerate(theirs) if k not in taken and in_window(ev, inc)), None
        )
        if pick is None:
            out.missed.append(ev)
            continue
        taken.add(pick)
        inc = theirs[pick]
        latency = None if ev.start_s is None else inc.opened_s - ev.start_s
        out.matches.append(Match(ev, inc, latency))
    out.false_positives = [inc for k, inc in enumerate(theirs) if k not in taken]
    for ev in mine:
        cov = coverage(ev, theirs, clip_end_s)
        if cov is not None:
            out.coverage.append(cov)
    return out


def summarize(results: Sequence[ClipResult], event_types: Sequence[str]) -> dict[str, TypeMetrics]:
    """The metrics of each event type over every clip that is labelled for it."""
    out = {ev: TypeMetrics(ev) for ev in event_types}
    for res in results:
        if res.error is not None:
            continue
        for ev, metrics in out.items():
            if res.clip.labels(ev):
                _add_clip(metrics, res)
    return out


def _add_clip(metrics: TypeMetrics, res: ClipResult) -> None:
    ev = metrics.event_type
    m = match_clip(res.clip.events, res.incidents, ev, clip_end_s=res.duration_s)
    metrics.events += len(m.matches) + len(m.missed)
    metrics.matched += len(m.matches)
    metrics.missed += len(m.missed)
    metrics.false_positives += len(m.false_positives)
    metrics.incidents += len(m.matches) + len(m.false_positives)
    metrics.latencies_s += [x.latency_s for x in m.matches if x.latency_s is not None]
    metrics.coverages += m.coverage
    if res.clip.negative:
        metrics.negative_clips += 1
        metrics.negative_hours += res.duration_s / 3600.0
        metrics.false_alarms += len(m.false_positives)
