"""One camera's lane through the pipeline: its config, window, detector and clock.

The inference loop keeps one :class:`CameraLane` per watched camera; everything it knows of a
camera lives there, so adding or removing a camera is one entry.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from detectors.lifecycle import CameraDetector
from detectors.settings import ResolvedEventConfig
from streamer.state import CameraStatus
from streamer.types import Frame, Window
from streamer.window import WindowBuffer
from vigil.config import CameraConfig

log = logging.getLogger(__name__)


@dataclass
class RunStats:
    """What one run processed, and what it could not."""

    frames: int = 0
    batches: int = 0
    updates: int = 0
    opened: int = 0
    closed: int = 0
    by_camera: dict[str, int] = field(default_factory=dict)
    scorer_errors: int = 0
    bad_frames: int = 0
    #: seconds spent scoring (all batches), the last batch's size and its seconds
    score_s: float = 0.0
    last_batch: int = 0
    last_score_s: float = 0.0
    #: Updates that could not be accepted durably (journal and database both failed).
    lost: int = 0


@dataclass(frozen=True)
class LaneState:
    """What a lane shows an operator: the camera, its health and its open incidents."""

    camera_id: str
    name: str
    location: str | None
    fps: float
    url: str  # password masked
    #: stream time (pts) and wall time of the newest frame processed; None before the first
    last_pts_s: float | None
    last_ts_s: float | None
    open_incidents: tuple[str, ...]
    status: CameraStatus | None


@dataclass
class CameraLane:
    """A watched camera: its config, sliding window, detector and the newest frame seen."""

    camera: CameraConfig
    window: WindowBuffer
    detector: CameraDetector
    last_frame: Frame | None = None
    #: monotonic time at which ``last_frame`` arrived
    arrival_mono_s: float | None = None

    @classmethod
    def create(
        cls,
        cam: CameraConfig,
        rules: Mapping[str, ResolvedEventConfig],
        *,
        window_s: float,
        keep_before_s: float,
    ) -> CameraLane:
        """A lane for ``cam`` with resolved event ``rules``."""
        return cls(
            camera=cam,
            window=WindowBuffer(cam.id, window_s, keep_before_s=keep_before_s),
            detector=CameraDetector(cam.id, rules, cam.zones),
        )

    @property
    def camera_id(self) -> str:
        """The camera's id."""
        return self.camera.id

    def push(self, frame: Frame, now_mono_s: float) -> Window:
        """Add a frame to the window and return the window it completes.

        A change of resolution starts the window afresh. Raises ValueError for a frame the
        window refuses (the lane is then unchanged but for that restart).
        """
        last = self.last_frame
        if last is not None and last.image.shape != frame.image.shape:
            log.info(
                "camera %s: resolution changed %s -> %s",
                frame.camera_id,
                last.image.shape[:2],
                frame.image.shape[:2],
            )
            self.window.clear()
        self.window.push(frame)
        self.last_frame = frame
        self.arrival_mono_s = now_mono_s
        return self.window.snapshot()

    def clock_s(self, now_mono_s: float) -> float | None:
        """The camera's own clock: its newest frame's time plus the time since it arrived.

        None before the first frame. A camera whose stream time lags the wall clock is so not
        closed early.
        """
        if self.last_frame is None:
            return None
        arrived = self.arrival_mono_s if self.arrival_mono_s is not None else now_mono_s
        return self.last_frame.ts_s + (now_mono_s - arrived)

    def state(self, status: CameraStatus | None) -> LaneState:
        """A snapshot for display, with the supervisor's ``status`` of the camera."""
        last = self.last_frame
        return LaneState(
            camera_id=self.camera.id,
            name=self.camera.display_name,
            location=self.camera.location,
            fps=self.camera.fps,
            url=self.camera.masked_url,
            last_pts_s=last.pts_s if last is not None else None,
            last_ts_s=last.ts_s if last is not None else None,
            open_incidents=tuple(self.detector.open_incidents()),
            status=status,
        )
