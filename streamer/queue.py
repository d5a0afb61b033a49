"""Bounded hand-off of sampled frames from reader threads to the inference worker."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Mapping
from typing import Literal

from streamer.types import Frame

Backpressure = Literal["drop_oldest", "drop_newest", "wait"]
BACKPRESSURE: tuple[Backpressure, ...] = ("drop_oldest", "drop_newest", "wait")

#: Drop cause recorded when a full queue evicts or refuses a frame.
QUEUE_FULL = "queue_full"


class FrameQueue:
    """Bounded hand-off from reader threads to the one inference worker; keeps per-camera order.

    Each camera has its own bounded lane of ``per_camera`` frames, so one busy camera cannot
    starve the others. What happens when a lane is full is the producer's named strategy:

    - ``drop_oldest`` (live default): the oldest waiting frame is dropped, the newest kept.
    - ``drop_newest``: the incoming frame is dropped.
    - ``wait``: the producer blocks until there is room (file sources: deterministic, lossless).

    Every drop is counted under ``(camera_id, cause)``.
    """

    def __init__(self, per_camera: int = 4) -> None:
        if per_camera < 1:
            raise ValueError(f"per_camera must be >= 1, got {per_camera}")
        self.per_camera = per_camera
        self._lanes: dict[str, deque[Frame]] = {}
        self._cond = threading.Condition()
        self._drops: Counter[tuple[str, str]] = Counter()
        self._rr = 0  # rotates the first camera served, for fairness

    def put(
        self,
        frame: Frame,
        strategy: Backpressure = "drop_oldest",
        stop: threading.Event | None = None,
    ) -> bool:
        """Hand over ``frame``; returns False if it was dropped (or ``stop`` was set).

        A set ``stop`` refuses the frame whatever the strategy (checked under the queue's lock):
        a reader that was told to stop can never recreate a lane after :meth:`discard`.
        """
        if strategy not in BACKPRESSURE:
            raise ValueError(f"unknown backpressure strategy {strategy!r}")
        with self._cond:
            if stop is not None and stop.is_set():
                return False
            lane = self._lanes.setdefault(frame.camera_id, deque())
            if len(lane) >= self.per_camera:
                if strategy == "drop_oldest":
                    lane.popleft()
                    self._drops[(frame.camera_id, QUEUE_FULL)] += 1
                elif strategy == "drop_newest":
                    self._drops[(frame.camera_id, QUEUE_FULL)] += 1
                    return False
                else:
                    while len(lane) >= self.per_camera:
                        if stop is not None and stop.is_set():
                            return False
                        self._cond.wait(0.1)
                        lane = self._lanes.setdefault(frame.camera_id, deque())
            lane.append(frame)
            self._cond.notify_all()
            return True

    def get_batch(self, max_n: int, timeout_s: float) -> list[Frame]:
        """Up to ``max_n`` frames, fair across cameras, stream order within each camera.

        Waits up to ``timeout_s`` for at least one frame; returns ``[]`` if none came.
        """
        if max_n < 1:
            raise ValueError(f"max_n must be >= 1, got {max_n}")
        deadline = time.monotonic() + max(0.0, timeout_s)
        with self._cond:
            while not any(self._lanes.values()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return []
                self._cond.wait(left)
            cams = [c for c, lane in self._lanes.items() if lane]
            start = self._rr % len(cams)
            self._rr += 1
            order = cams[start:] + cams[:start]
            out: list[Frame] = []
            while len(out) < max_n and order:
                for cam in list(order):
                    lane = self._lanes[cam]
                    out.append(lane.popleft())
                    if not lane:
                        order.remove(cam)
                    if len(out) >= max_n:
                        break
            self._cond.notify_all()
            return out

    def record_drop(self, camera_id: str, cause: str, n: int = 1) -> None:
        """Count ``n`` frames of ``camera_id`` lost for ``cause`` outside the queue."""
        with self._cond:
            self._drops[(camera_id, cause)] += n

    def discard(self, camera_id: str) -> int:
        """Forget the waiting frames of a camera (removed or restarted); returns how many."""
        with self._cond:
            lane = self._lanes.pop(camera_id, None)
            self._cond.notify_all()
            return len(lane) if lane else 0

    def pending(self, camera_id: str | None = None) -> int:
        """Frames waiting (of one camera, or of all)."""
        with self._cond:
            if camera_id is not None:
                return len(self._lanes.get(camera_id, ()))
            return sum(len(lane) for lane in self._lanes.values())

    @property
    def drops(self) -> Mapping[tuple[str, str], int]:
        """``(camera_id, cause) -> count`` of every frame dropped so far (a copy)."""
        with self._cond:
            return dict(self._drops)

    def drops_of(self, camera_id: str) -> dict[str, int]:
        """``cause -> count`` for one camera."""
        with self._cond:
            return {cause: n for (cam, cause), n in self._drops.items() if cam == camera_id}

    def __len__(self) -> int:
        return self.pending()
