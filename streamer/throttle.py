"""Throttled logging: say a repeating thing at most once per interval.

A failure that repeats every frame or every retry (a scorer that keeps failing, a database
that stays down, a broker that stays unreachable) is logged once, then at most once per
``interval_s`` while it lasts; the repeats in between are counted, not logged::

    throttle = LogThrottle(10.0)
    if throttle.ready():
        log.error("database write failed: %s", exc)

or, for a plain line, ``throttle.log(log, logging.ERROR, "database write failed: %s", exc)``.
A ``key`` (a camera id, an error kind) throttles each key on its own. Thread-safe.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable


class LogThrottle:
    """Lets a message through at most once per ``interval_s`` per key; counts the rest."""

    def __init__(self, interval_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        """``clock`` is monotonic seconds (``time.monotonic`` unless a test passes its own)."""
        if interval_s < 0:
            raise ValueError(f"interval_s must be >= 0, got {interval_s}")
        self.interval_s = interval_s
        self._clock = clock
        self._last: dict[Hashable, float] = {}
        self._suppressed: dict[Hashable, int] = {}
        self._lock = threading.Lock()

    def ready(self, key: Hashable = None) -> bool:
        """True (and the interval starts again) when ``key`` may be logged now.

        The first call for a key is always True; later ones are True once ``interval_s``
        passed since the last True, and False (counted as suppressed) before that.
        """
        now = self._clock()
        with self._lock:
            last = self._last.get(key)
            if last is None or now - last >= self.interval_s:
                self._last[key] = now
                return True
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return False

    def log(
        self,
        logger: logging.Logger,
        level: int,
        msg: str,
        *args: object,
        key: Hashable = None,
        exc_info: bool = False,
    ) -> bool:
        """``logger.log(level, msg, *args)`` when :meth:`ready`; whether it was logged."""
        if not self.ready(key):
            return False
        logger.log(level, msg, *args, exc_info=exc_info)
        return True

    def suppressed(self, key: Hashable = None) -> int:
        """How many times ``key`` was held back (not ready) so far."""
        with self._lock:
            return self._suppressed.get(key, 0)
