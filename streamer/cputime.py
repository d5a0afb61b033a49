"""CPU time of a camera's reader threads, measured inside them with ``time.thread_time()``.

A reader thread demuxes, decodes and samples its camera, so its CPU time is the camera's
decode cost (``vigil_camera_decode_cpu_seconds_total``). FFmpeg's own worker threads, used only
when ``streamer.decode_threads`` is not 1, are not part of it.
"""

from __future__ import annotations

import threading
import time


class CpuTotal:
    """CPU seconds used by one camera's reader threads, summed over readers (an updated
    camera's new reader continues the total of the one it replaced)."""

    def __init__(self) -> None:
        """Start at zero."""
        self._total = 0.0
        self._lock = threading.Lock()

    @property
    def total_s(self) -> float:
        """CPU seconds counted so far."""
        return self._total

    def add(self, seconds: float) -> None:
        """Count ``seconds`` more."""
        with self._lock:
            self._total += seconds

    def meter(self) -> ThreadCpuMeter:
        """A meter for the calling thread (create it inside the thread it measures)."""
        return ThreadCpuMeter(self)


class ThreadCpuMeter:
    """Adds the CPU time its thread used since the last :meth:`tick` to a :class:`CpuTotal`."""

    def __init__(self, total: CpuTotal) -> None:
        """Measure the calling thread from now on."""
        self._total = total
        self._mark = time.thread_time()

    def tick(self) -> None:
        """Count the thread's CPU time since the previous tick (call it in the thread)."""
        now = time.thread_time()
        self._total.add(now - self._mark)
        self._mark = now
