"""Per-camera ring buffer of the last N seconds of sampled frames."""

from __future__ import annotations

import threading
from collections import deque

from streamer.types import Frame, Window


class WindowBuffer:
    """Keeps the frames of the last ``capacity_s`` seconds (by stream time) of one camera.

    ``keep_before_s`` extra seconds are retained so that a clip can show the seconds before an
    incident opened. Snapshots share frame objects with the buffer; nothing is copied.
    """

    def __init__(self, camera_id: str, capacity_s: float, keep_before_s: float = 0.0) -> None:
        if capacity_s <= 0:
            raise ValueError(f"window capacity_s must be > 0, got {capacity_s}")
        if keep_before_s < 0:
            raise ValueError(f"keep_before_s must be >= 0, got {keep_before_s}")
        self.camera_id = camera_id
        self.capacity_s = float(capacity_s)
        self.keep_before_s = float(keep_before_s)
        self._frames: deque[Frame] = deque()
        self._lock = threading.Lock()

    def push(self, frame: Frame) -> None:
        """Append a frame (stream time must not go backwards) and evict old ones."""
        if frame.camera_id != self.camera_id:
            raise ValueError(
                f"frame of camera {frame.camera_id!r} pushed to window of {self.camera_id!r}"
            )
        with self._lock:
            if self._frames and frame.pts_s < self._frames[-1].pts_s:
                raise ValueError(
                    f"camera {self.camera_id!r}: frame pts {frame.pts_s:.3f}s is before "
                    f"the newest buffered {self._frames[-1].pts_s:.3f}s"
                )
            self._frames.append(frame)
            horizon = frame.pts_s - self.capacity_s - self.keep_before_s
            while self._frames and self._frames[0].pts_s <= horizon + 1e-9:
                self._frames.popleft()

    def snapshot(self) -> Window:
        """The frames of the last ``capacity_s`` seconds, oldest first."""
        with self._lock:
            if not self._frames:
                return Window(self.camera_id, (), self.capacity_s)
            start = self._frames[-1].pts_s - self.capacity_s
            frames = tuple(f for f in self._frames if f.pts_s > start + 1e-9)
        return Window(self.camera_id, frames, self.capacity_s)

    def history(self, since_pts_s: float | None = None) -> list[Frame]:
        """All retained frames (window plus ``keep_before_s``), optionally from a stream time."""
        with self._lock:
            if since_pts_s is None:
                return list(self._frames)
            return [f for f in self._frames if f.pts_s >= since_pts_s]

    def clear(self) -> None:
        """Forget all frames (e.g. after a resolution change)."""
        with self._lock:
            self._frames.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._frames)
