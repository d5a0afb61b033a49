"""The publisher loop's state: counters, where the in-process feed is, one run's state."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from streamer.backoff import Backoff
from streamer.settings import BackoffConfig
from streamer.throttle import LogThrottle

if TYPE_CHECKING:
    from aiokafka import AIOKafkaProducer

#: Seconds between repeated warnings of one kind.
WARN_EVERY_S = 60.0
#: Seconds between prunes of sent outbox rows.
PRUNE_EVERY_S = 3600.0


@dataclass(frozen=True, slots=True)
class PublisherStats:
    """Counters of the publisher (a snapshot)."""

    sent: int = 0
    delivered_local: int = 0
    failed_attempts: int = 0
    subscriber_errors: int = 0
    connected: bool = False
    idempotent: bool | None = None
    last_error: str | None = None


@dataclass
class LocalFeed:
    """Where the in-process feed is: highest id seen, and ids delivered near it."""

    cursor: int = 0
    seen: set[int] = field(default_factory=set)

    @property
    def floor(self) -> int:
        """Ids at or below this are behind the feed: delivered, or too late to deliver."""
        return self.cursor - LOOKBACK

    def handed_out(self, row_id: int) -> bool:
        """Whether the feed is done with row ``row_id`` (so Kafka may have it)."""
        return row_id in self.seen or row_id <= self.floor


#: How far behind its cursor the in-process feed looks for rows committed late.
LOOKBACK = 256


def publisher_backoff(max_s: float) -> Backoff:
    """Exponential backoff from 0.2 s doubling up to ``max_s``, +/- 20 % jitter."""
    return Backoff(BackoffConfig(initial_s=min(0.2, max_s), max_s=max_s, factor=2.0, jitter=0.2))


@dataclass
class RunState:
    """The state of one publisher loop."""

    backoff: Backoff
    producer: AIOKafkaProducer | None = None
    next_connect: float = 0.0
    #: the first prune waits a full interval: at start it would race the app's own first
    #: writes (camera rows) for SQLite's write lock
    last_prune: float = field(default_factory=time.monotonic)
    feed: LocalFeed = field(default_factory=LocalFeed)
    send_fail_log: LogThrottle = field(default_factory=lambda: LogThrottle(WARN_EVERY_S))
    crash_log: LogThrottle = field(default_factory=lambda: LogThrottle(WARN_EVERY_S))
