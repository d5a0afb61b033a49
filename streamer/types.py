"""Types produced by the streamer stage: sampled frames and per-camera windows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """One sampled frame of one camera.

    ``pts_s`` is stream time (seconds since the first frame of the stream, monotonic across
    reconnects); ``ts_s`` is the wall-clock time (Unix epoch seconds) that stream time maps to.
    ``image`` is an ``HxWx3`` uint8 BGR array and must not be modified after hand-off.
    """

    camera_id: str
    seq: int
    pts_s: float
    ts_s: float
    image: np.ndarray

    def __post_init__(self) -> None:
        img = self.image
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(
                f"Frame.image for camera {self.camera_id!r} must be HxWx3 uint8 BGR, "
                f"got shape {img.shape} dtype {img.dtype}"
            )

    @property
    def height(self) -> int:
        """Image height in pixels."""
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        """Image width in pixels."""
        return int(self.image.shape[1])


@dataclass(frozen=True, slots=True, eq=False)
class Window:
    """The last few seconds of sampled frames of one camera, oldest first.

    Holds references to the frames (no pixel copies).
    """

    camera_id: str
    frames: tuple[Frame, ...]
    capacity_s: float

    def __post_init__(self) -> None:
        for f in self.frames:
            if f.camera_id != self.camera_id:
                raise ValueError(
                    f"Window for camera {self.camera_id!r} holds a frame of {f.camera_id!r}"
                )

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def newest(self) -> Frame:
        """The most recent frame (the window must not be empty)."""
        if not self.frames:
            raise ValueError(f"window of camera {self.camera_id!r} is empty")
        return self.frames[-1]

    @property
    def start_ts_s(self) -> float:
        """Wall-clock time of the oldest frame."""
        return self.frames[0].ts_s if self.frames else 0.0

    @property
    def end_ts_s(self) -> float:
        """Wall-clock time of the newest frame."""
        return self.frames[-1].ts_s if self.frames else 0.0

    @property
    def duration_s(self) -> float:
        """Seconds between the oldest and the newest frame."""
        return self.end_ts_s - self.start_ts_s

    @property
    def is_full(self) -> bool:
        """True once the window spans (nearly) its whole capacity."""
        if len(self.frames) < 2:
            return False
        step = self.duration_s / (len(self.frames) - 1)
        return self.duration_s + step >= self.capacity_s - 1e-6
