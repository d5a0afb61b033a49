"""The outbox publisher: drains outbox rows to Kafka and to in-process subscribers.

It runs in its own thread with its own asyncio loop (aiokafka needs one). Rows are sent in
outbox order; a camera's rows go out strictly one after the other (key = camera id, so one
partition), and a row is marked sent only when the broker acknowledged it (``acks=all``) and
every earlier row of the same camera was acknowledged too. While the broker is unreachable the
rows wait in the outbox and the publisher retries with backoff; after a restart it resumes with
the oldest unsent row. Delivery is at least once: consumers drop duplicates by
``(incident_id, version)``.

In-process subscribers get the same messages in both modes (Kafka configured or not), as
``callback(topic_suffix, message)`` with ``topic_suffix`` ``"incidents"`` or ``"reports"``,
on the publisher's thread: keep callbacks short (hand the message to a queue). Each row reaches
them once; with Kafka, a row goes to Kafka only after the in-process feed handed it out. Any
error (database, broker, or unexpected) is logged and retried with backoff: the publisher
keeps running until ``stop()``.

``aiokafka`` (the ``kafka`` extra) is imported only when ``bus.kafka`` is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from storage import kafka_io
from storage.errors import StorageError
from storage.extras import require
from storage.publisher_state import (
    LOOKBACK,
    PRUNE_EVERY_S,
    WARN_EVERY_S,
    LocalFeed,
    PublisherStats,
    RunState,
    publisher_backoff,
)
from storage.records import OutboxMessage
from storage.settings import BusConfig, KafkaConfig
from storage.store import Store
from streamer.throttle import LogThrottle

if TYPE_CHECKING:
    from aiokafka import AIOKafkaProducer

log = logging.getLogger(__name__)

__all__ = ["OutboxPublisher", "PublisherStats", "Subscriber"]

Subscriber = Callable[[str, dict[str, Any]], None]


class OutboxPublisher:
    """Delivers outbox rows to Kafka (when configured) and to in-process subscribers."""

    def __init__(self, store: Store, config: BusConfig) -> None:
        """Prepare; nothing runs until ``start()``.

        Raises ``MissingExtra`` when ``config.kafka`` is set and aiokafka is not installed.
        """
        if config.kafka is not None:
            require("aiokafka", extra="kafka", setting="bus.kafka is set")
        self.store = store
        self.config = config
        self.kafka: KafkaConfig | None = config.kafka
        self._subs: list[Subscriber] = []
        self._subs_lock = threading.Lock()
        self._stats = PublisherStats()
        self._stats_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._started = threading.Event()
        self._stopping = False
        self._drain_deadline = 0.0
        self._idempotent = bool(self.kafka and self.kafka.enable_idempotence)
        self._unreachable_log = LogThrottle(WARN_EVERY_S)

    # --- public API -----------------------------------------------------------------------

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Add an in-process subscriber; returns a function that removes it."""
        with self._subs_lock:
            self._subs.append(callback)

        def unsubscribe() -> None:
            with self._subs_lock, contextlib.suppress(ValueError):
                self._subs.remove(callback)

        return unsubscribe

    def start(self) -> None:
        """Start the background thread. Never blocks on an unreachable broker."""
        if self._thread is not None:
            raise RuntimeError("OutboxPublisher already started")
        self._thread = threading.Thread(target=self._thread_main, name="vigil-outbox", daemon=True)
        self._thread.start()
        self._started.wait(timeout=10)
        where = self.kafka.bootstrap_servers if self.kafka else "in-process subscribers only"
        log.info("outbox publisher started (%s)", where)

    def notify(self) -> None:
        """Wake the publisher (call after a commit that wrote outbox rows); thread-safe."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop closing
                loop.call_soon_threadsafe(wake.set)

    def stop(self, drain_timeout_s: float = 5.0, *, join_timeout_s: float | None = None) -> None:
        """Send what is pending for up to ``drain_timeout_s``, then stop; rows still unsent
        stay in the outbox for the next start. ``join_timeout_s`` bounds the whole wait (a
        send in flight is then abandoned: its rows are sent again at the next start)."""
        thread = self._thread
        if thread is None:
            return
        self._drain_deadline = time.monotonic() + drain_timeout_s
        self._stopping = True
        self.notify()
        grace = drain_timeout_s + (self.kafka.request_timeout_s if self.kafka else 0) + 10
        if join_timeout_s is not None:
            grace = join_timeout_s
        thread.join(timeout=grace)
        self._thread = None
        if thread.is_alive():
            # blocked on the database or the broker: do not ask the database again here
            log.warning(
                "outbox publisher did not stop within %.1f s; unsent rows go at the next start",
                grace,
            )
            return
        left = self._safe_backlog()
        if left:
            log.info("outbox publisher stopped with %d messages pending (sent on next start)", left)
        else:
            log.info("outbox publisher stopped")

    def stats(self) -> PublisherStats:
        """A snapshot of the counters."""
        with self._stats_lock:
            return self._stats

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until the outbox is empty (True) or ``timeout_s`` passed (False)."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self._safe_backlog() == 0:
                return True
            if time.monotonic() >= deadline:
                return False
            self.notify()
            time.sleep(0.05)

    # --- internals ------------------------------------------------------------------------

    def _bump(self, **changes: Any) -> None:
        with self._stats_lock:
            current = self._stats
            updates = {
                k: (getattr(current, k) + v if k in _COUNTERS else v) for k, v in changes.items()
            }
            self._stats = replace(current, **updates)

    def _safe_backlog(self) -> int:
        try:
            return self.store.outbox_backlog()
        except StorageError:
            return -1

    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except Exception:  # pragma: no cover - a bug; keep the process alive, say so
            log.exception("outbox publisher crashed; unsent rows stay in the outbox")
        finally:
            self._loop = None
            loop.close()

    async def _main(self) -> None:
        """The publisher loop: connect, prune, feed subscribers, send, then wait or back off."""
        self._wake = asyncio.Event()
        run = RunState(publisher_backoff(self.kafka.retry_backoff_max_s if self.kafka else 5.0))
        run.feed = self._start_feed()
        self._started.set()  # rows committed from now on reach the in-process feed
        try:
            while not (self._stopping and time.monotonic() >= self._drain_deadline):
                try:
                    await self._connect_if_due(run)
                    self._prune_if_due(run)
                    self._deliver_local(run.feed, self.kafka is None)
                    progressed = await self._send_pending(run)
                except Exception as exc:
                    self._report_round_error(run, exc)
                    progressed = None
                if progressed is None:  # failed: back off
                    await self._sleep(run.backoff.next())
                elif progressed:
                    continue  # more may be waiting: no sleep
                elif self._stopping and (self.kafka is None or self._safe_backlog() == 0):
                    break
                else:
                    await self._idle(run)
        finally:
            if run.producer is not None:
                await kafka_io.quiet_stop(run.producer)
            self._bump(connected=False)

    def _start_feed(self) -> LocalFeed:
        """The in-process feed's start: in Kafka mode, rows pending at start were already seen
        by the previous run's subscribers (or predate them); in-process-only mode delivers
        them now."""
        feed = LocalFeed()
        if self.kafka is not None:
            with contextlib.suppress(StorageError):
                feed.cursor = self.store.last_outbox_id()
                feed.seen = {
                    m.id
                    for m in self.store.pending_outbox(
                        limit=LOOKBACK, after_id=max(0, feed.cursor - LOOKBACK)
                    )
                }
        return feed

    async def _connect_if_due(self, run: RunState) -> None:
        """Start a producer when Kafka is configured, none runs, and the backoff has passed."""
        kafka = self.kafka
        if kafka is None or run.producer is not None or time.monotonic() < run.next_connect:
            return
        run.producer = await self._connect(kafka)
        if run.producer is None:
            run.next_connect = time.monotonic() + run.backoff.next()
        else:
            run.backoff.reset()

    def _prune_if_due(self, run: RunState) -> None:
        """Delete old sent rows, at most once every ``PRUNE_EVERY_S``."""
        if time.monotonic() - run.last_prune > PRUNE_EVERY_S:
            run.last_prune = time.monotonic()
            pruned = self.store.prune_outbox(keep_s=self.config.outbox_keep_days * 86400)
            if pruned:
                log.info("outbox: deleted %d sent rows", pruned)

    async def _send_pending(self, run: RunState) -> bool | None:
        """Send a round of pending rows to Kafka. True: progress (go on at once); False:
        nothing to do; None: the send failed (back off)."""
        kafka, producer = self.kafka, run.producer
        if kafka is None or producer is None:
            return False
        pending = self.store.pending_outbox(limit=self.config.outbox_batch)
        # Only rows the in-process feed has handed out go to Kafka (sending marks them sent,
        # out of the feed's sight). A row committed after the feed's read waits for the next
        # round; stopping at the first one keeps each camera's rows in order.
        rows = list(itertools.takewhile(lambda r: run.feed.handed_out(r.id), pending))
        progressed = len(rows) < len(pending)  # the feed has more: go on
        if not rows:
            return progressed
        ok, err = await self._send_round(producer, kafka, rows)
        if err is None:
            run.backoff.reset()
            return progressed or ok > 0
        if run.send_fail_log.ready():
            log.warning(
                "Kafka at %s: send failed (%s); %d messages wait in the outbox, retrying",
                kafka.bootstrap_servers,
                err,
                self._safe_backlog(),
            )
        return None

    def _report_round_error(self, run: RunState, exc: Exception) -> None:
        """Log a failed round (the database, or anything unexpected: publishing goes on)."""
        if isinstance(exc, StorageError):
            self._bump(last_error=str(exc))
            log.warning("outbox publisher: %s; retrying", exc)
            return
        self._bump(last_error=f"{type(exc).__name__}: {exc}")
        if run.crash_log.ready():
            log.exception("outbox publisher: unexpected error; retrying", exc_info=exc)
        else:
            log.warning("outbox publisher: unexpected error (%r); retrying", exc)

    async def _idle(self, run: RunState) -> None:
        """Wait for a notify: until the next connect attempt, or ``outbox_poll_s``."""
        if self.kafka is not None and run.producer is None:
            await self._sleep(max(0.0, run.next_connect - time.monotonic()))
        else:
            await self._sleep(self.config.outbox_poll_s)

    async def _sleep(self, seconds: float) -> None:
        wake = self._wake
        assert wake is not None
        if self._stopping:
            seconds = min(seconds, max(0.0, self._drain_deadline - time.monotonic()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=seconds)
        wake.clear()

    def _deliver_local(self, feed: LocalFeed, mark_sent: bool) -> None:
        """Hand rows not yet seen to subscribers (and, without Kafka, mark them sent).

        Ids are allotted at insert but become visible at commit, so on PostgreSQL a lower id
        can appear after a higher one: without Kafka every unsent row is read (delivered
        rows are marked sent and drop out); with Kafka the feed looks back ``LOOKBACK`` ids
        behind its cursor and skips what it already delivered. With Kafka, a row is sent only
        once the feed handed it out (``LocalFeed.handed_out``), so no row can be marked sent
        before the feed read it.
        """
        after = 0 if mark_sent else max(0, feed.floor)
        while True:
            rows = self.store.pending_outbox(limit=self.config.outbox_batch, after_id=after)
            if not rows:
                break
            fresh = [r for r in rows if r.id not in feed.seen]
            with self._subs_lock:
                subs = list(self._subs)
            for row in fresh:
                if subs:
                    message = json.loads(row.payload)
                    for cb in subs:
                        try:
                            cb(row.topic, message)
                        except Exception:
                            self._bump(subscriber_errors=1)
                            log.exception("outbox subscriber %r failed on %s", cb, row.topic)
            if mark_sent:
                self.store.mark_sent([r.id for r in fresh])
            else:
                feed.seen.update(r.id for r in fresh)
            if fresh:
                self._bump(delivered_local=len(fresh))
            after = rows[-1].id
            feed.cursor = max(feed.cursor, after)
        floor = feed.floor
        feed.seen = {i for i in feed.seen if i > floor}

    async def _connect(self, kafka: KafkaConfig) -> AIOKafkaProducer | None:
        """Start a producer; None (and a log line) when the broker cannot be reached."""
        from aiokafka import AIOKafkaProducer
        from aiokafka.errors import KafkaError

        while True:
            producer = AIOKafkaProducer(
                **kafka_io.producer_kwargs(kafka, idempotent=self._idempotent)
            )
            try:
                await producer.start()
            except kafka_io.unreachable() as exc:
                await kafka_io.quiet_stop(producer)
                self._bump(connected=False, last_error=f"unreachable: {exc}", failed_attempts=1)
                if self._unreachable_log.ready():
                    log.warning(
                        "Kafka at %s unreachable (%s); %d messages wait in the outbox, "
                        "retrying with backoff",
                        kafka.bootstrap_servers,
                        exc,
                        max(0, self._safe_backlog()),
                    )
                return None
            except KafkaError as exc:
                await kafka_io.quiet_stop(producer)
                if self._idempotent:
                    log.warning(
                        "Kafka at %s refused the idempotent producer (%s); falling back to "
                        "acks=all without idempotence (consumers drop duplicates by "
                        "incident_id and version)",
                        kafka.bootstrap_servers,
                        exc,
                    )
                    self._idempotent = False
                    continue
                self._bump(connected=False, last_error=str(exc), failed_attempts=1)
                log.error("Kafka at %s: cannot start producer: %s", kafka.bootstrap_servers, exc)
                return None
            except Exception as exc:  # OSError, ssl.SSLError, ...: retried with backoff
                await kafka_io.quiet_stop(producer)
                self._bump(
                    connected=False, last_error=f"{type(exc).__name__}: {exc}", failed_attempts=1
                )
                log.exception("Kafka at %s: cannot start producer", kafka.bootstrap_servers)
                return None
            break
        if kafka.create_topics:
            await kafka_io.ensure_topics(kafka)
        self._bump(connected=True, idempotent=self._idempotent)
        log.info(
            "Kafka at %s connected (acks=all, idempotent=%s); %d messages pending",
            kafka.bootstrap_servers,
            self._idempotent,
            max(0, self._safe_backlog()),
        )
        return producer

    async def _send_round(
        self,
        producer: AIOKafkaProducer,
        kafka: KafkaConfig,
        rows: list[OutboxMessage],
    ) -> tuple[int, str | None]:
        """Send one round; mark acknowledged rows sent. Returns (rows sent, first error).

        Each (topic, camera) gets ONE batch per round, in outbox order, on the partition the
        Java-compatible key partitioner picks for the camera id. A batch is written or not
        as a whole, and the next round starts only when this one is settled, so a camera's
        messages can never overtake each other; rows that do not fit wait for the next round.
        """
        sends, failed, error = await kafka_io.start_batches(producer, kafka, rows)
        if sends:
            await asyncio.wait([f for _, f in sends], timeout=kafka.request_timeout_s * 2 + 5)
        ok_ids, failed, error = kafka_io.settle(sends, failed, error)
        self.store.mark_sent(ok_ids)
        if failed:
            self.store.mark_failed([r.id for r in failed], error or "send failed")
            self._bump(failed_attempts=1, last_error=error)
        self._bump(sent=len(ok_ids))
        return len(ok_ids), error


_COUNTERS = {"sent", "delivered_local", "failed_attempts", "subscriber_errors"}
