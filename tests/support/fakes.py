"""Fakes for parts that are injected into the App (never for services that can run here)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from engines.types import Scorer, Scores
from streamer.types import Frame, Window


class FlakyScorer:
    """A real scorer whose ``score_batch`` raises on the given call numbers (1-based)."""

    def __init__(self, inner: Scorer, fail_on: Collection[int]) -> None:
        self.inner = inner
        self.name = inner.name
        self.fail_on = set(fail_on)
        self.calls = 0

    @property
    def events(self) -> tuple[str, ...]:
        """The inner scorer's event types."""
        return self.inner.events

    def score_batch(self, frames: Sequence[Frame], windows: Sequence[Window]) -> list[Scores]:
        """Score with the inner scorer, or raise as a backend that lost its device would."""
        self.calls += 1
        if self.calls in self.fail_on:
            raise RuntimeError("backend lost its device")
        return self.inner.score_batch(frames, windows)

    def reset(self, camera_id: str) -> None:
        """Forward to the inner scorer."""
        self.inner.reset(camera_id)

    def close(self) -> None:
        """Forward to the inner scorer."""
        self.inner.close()
