"""What an evaluation reads (labelled clips) and what a run on one clip gives back."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class TruthSpan:
    """One ground-truth event, in seconds from the clip start.

    ``start_s`` None: a clip-level label (the event is somewhere in the clip, when is not
    known); such an event matches any incident of its type and has no latency or coverage.
    ``end_s`` None with a start: the event lasts to the end of the clip.
    """

    event_type: str
    start_s: float | None = None
    end_s: float | None = None


@dataclass(frozen=True)
class LabelledClip:
    """A video with its ground truth.

    ``labelled``: the event types its labels speak for (a fall dataset says nothing about
    fire); empty means every evaluated type. A clip without events is negative footage for
    the types it is labelled for.
    """

    path: Path
    name: str
    events: tuple[TruthSpan, ...] = ()
    labelled: frozenset[str] = frozenset()
    layout: str = ""

    @property
    def negative(self) -> bool:
        """True when the clip holds no event at all."""
        return not self.events

    def labels(self, event_type: str) -> bool:
        """True if the clip's labels speak for ``event_type``."""
        return not self.labelled or event_type in self.labelled


@dataclass(frozen=True)
class Incident:
    """An incident seen on a clip, in stream seconds (``closed_s`` None: still open at the end)."""

    event_type: str
    opened_s: float
    closed_s: float | None = None
    peak: float = 0.0


@dataclass
class ClipResult:
    """What one run on one clip produced."""

    clip: LabelledClip
    duration_s: float = 0.0
    frames: int = 0
    wall_s: float = 0.0
    incidents: list[Incident] = field(default_factory=list)
    #: per event type: (stream seconds, score) of every scored frame
    scores: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    #: per event type: the rule's threshold (drawn on the plots)
    thresholds: dict[str, float] = field(default_factory=dict)
    error: str | None = None
