"""The clock every stage reads: wall time (epoch seconds) and a monotonic timer.

Parts that keep time take a :class:`Clock` (default :data:`SYSTEM_CLOCK`), so a test can hand
them a :class:`ManualClock` instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Where time comes from."""

    def wall(self) -> float:
        """Seconds since the epoch (UTC)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for intervals only)."""
        ...


class SystemClock:
    """The process clock: :func:`time.time` and :func:`time.monotonic`."""

    def wall(self) -> float:
        """Seconds since the epoch."""
        return time.time()

    def monotonic(self) -> float:
        """Monotonic seconds."""
        return time.monotonic()


#: The clock used unless a part is given another.
SYSTEM_CLOCK: Clock = SystemClock()


class ManualClock:
    """A clock that moves only when told (tests and replays); safe across threads."""

    def __init__(self, wall_s: float = 0.0, monotonic_s: float = 0.0) -> None:
        self._wall = wall_s
        self._mono = monotonic_s
        self._lock = threading.Lock()

    def wall(self) -> float:
        """The wall time set so far."""
        with self._lock:
            return self._wall

    def monotonic(self) -> float:
        """The monotonic time set so far."""
        with self._lock:
            return self._mono

    def advance(self, seconds: float) -> None:
        """Move both clocks forward by ``seconds`` (never back)."""
        if seconds < 0:
            raise ValueError("a clock does not go back")
        with self._lock:
            self._wall += seconds
            self._mono += seconds
