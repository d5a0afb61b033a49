"""Types produced by the engines stage: per-frame event scores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from engines.catalogue import EVENT_NAMES
from streamer.types import Frame, Window

#: Event types Vigil knows about. A scorer reports a subset of them.
EVENT_TYPES: tuple[str, ...] = EVENT_NAMES

#: A normalised box ``(x0, y0, x1, y1)`` in ``[0, 1]`` image coordinates.
Box = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class Scores:
    """Event scores for the newest frame of a camera's window.

    ``events`` maps an event type to a calibrated score in ``[0, 1]``. ``cues`` holds the named
    measurements behind the scores (units in the names, e.g. ``fall_height_drop_ratio``) that
    reports may quote. ``regions`` maps an event type to where in the picture it is seen.
    ``tracks`` maps a track id to the box of a person-sized moving object seen in this frame
    (None: the scorer does not track objects); the detectors score ``intrusion`` from it per
    track, inside the camera's zones (``detectors.intrusion``).
    """

    camera_id: str
    seq: int
    pts_s: float
    ts_s: float
    events: Mapping[str, float]
    cues: Mapping[str, float] = field(default_factory=dict)
    regions: Mapping[str, Box] = field(default_factory=dict)
    scorer: str = ""
    tracks: Mapping[int, Box] | None = None

    def __post_init__(self) -> None:
        for name, value in self.events.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(
                    f"Scores for camera {self.camera_id!r}: event {name!r} score {value} "
                    "is outside [0, 1]"
                )

    def score(self, event: str) -> float:
        """Score of one event type (0.0 when the scorer does not report it)."""
        return float(self.events.get(event, 0.0))


class Scorer(Protocol):
    """Scores the newest frame of each window. Called in stream order per camera."""

    name: str

    @property
    def events(self) -> tuple[str, ...]:
        """Event types this scorer reports."""
        ...

    def score_batch(self, frames: Sequence[Frame], windows: Sequence[Window]) -> list[Scores]:
        """Score a batch of newest frames (possibly from several cameras) with their windows."""
        ...

    def reset(self, camera_id: str) -> None:
        """Forget per-camera state (camera removed, reconnected with a new resolution)."""
        ...

    def close(self) -> None:
        """Release runtimes and memory."""
        ...
