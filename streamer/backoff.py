"""Exponential backoff with jitter (camera reconnects, Kafka retries)."""

from __future__ import annotations

import random

from streamer.settings import BackoffConfig


class Backoff:
    """Delays ``initial_s, initial_s*factor, ...`` capped at ``max_s``, each +/- ``jitter``."""

    def __init__(self, config: BackoffConfig, rng: random.Random | None = None) -> None:
        self.config = config
        self._rng = rng or random.Random()
        self._delay: float | None = None

    def next(self) -> float:
        """The delay before the next attempt (grows each call until :meth:`reset`)."""
        c = self.config
        self._delay = c.initial_s if self._delay is None else min(c.max_s, self._delay * c.factor)
        spread = self._delay * c.jitter
        return max(0.0, self._delay + self._rng.uniform(-spread, spread))

    def reset(self) -> None:
        """Start again from ``initial_s`` (after a healthy period)."""
        self._delay = None

    @property
    def current_s(self) -> float | None:
        """The last delay before jitter (None before the first failure)."""
        return self._delay
