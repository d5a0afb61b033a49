"""Cross-camera batcher: one worker runs a model on frames from all cameras.

Producers (one per camera, or one inference loop) submit one input per frame and get a
``Future``. The worker runs a batch as soon as it holds ``max_batch`` inputs or its oldest input
has waited ``max_wait_ms`` (or a submitter asked to flush), and routes each output row back to
the future of the input it came from. The queue is bounded: when it is full the oldest waiting
input is dropped (its future raises :class:`Dropped`) and the drop is counted per camera.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

log = logging.getLogger(__name__)


class Dropped(Exception):
    """The input was dropped before it ran (queue full or batcher closed)."""


class BatchFailed(Exception):
    """The model raised while running the batch this input was in."""


@dataclass(slots=True)
class _Item:
    key: str
    payload: np.ndarray
    future: Future[np.ndarray]
    flush: bool
    enqueued: float


@dataclass
class BatcherStats:
    """Counters since start (a snapshot)."""

    submitted: int = 0
    completed: int = 0
    failed: int = 0
    batches: int = 0
    largest_batch: int = 0
    dropped: dict[str, int] = field(default_factory=dict)  # "cause:camera" -> count

    @property
    def dropped_total(self) -> int:
        """All drops, every cause and camera."""
        return sum(self.dropped.values())


class CrossCameraBatcher:
    """Batches inputs from many cameras into calls of ``run(stacked) -> outputs``.

    ``run`` receives an ``N x ...`` array (inputs stacked along a new first axis) and must
    return an array whose first axis is ``N`` (row ``i`` belongs to input ``i``). It is only
    ever called from the worker thread, so a runtime with thread affinity (CUDA contexts) is
    safe behind it.
    """

    def __init__(
        self,
        run: Callable[[np.ndarray], np.ndarray],
        *,
        max_batch: int = 32,
        max_wait_ms: float = 5.0,
        queue_size: int = 256,
        name: str = "batcher",
    ) -> None:
        if max_batch < 1 or queue_size < 1 or max_wait_ms < 0:
            raise ValueError("need max_batch >= 1, queue_size >= 1, max_wait_ms >= 0")
        self._run = run
        self.max_batch = max_batch
        self.max_wait_s = max_wait_ms / 1000.0
        self.queue_size = queue_size
        self.name = name
        self._queue: deque[_Item] = deque()
        self._flushes = 0
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._submitted = 0
        self._completed = 0
        self._failed = 0
        self._batches = 0
        self._largest = 0
        self._dropped: Counter[str] = Counter()

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> CrossCameraBatcher:
        """Start the worker thread (idempotent); returns self."""
        with self._cond:
            if self._closed:
                raise RuntimeError(f"{self.name} is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._worker, name=self.name, daemon=True)
                self._thread.start()
        return self

    def close(self, *, drain: bool = True, timeout_s: float = 30.0) -> None:
        """Stop the worker: with ``drain`` it first runs what is queued, else drops it."""
        with self._cond:
            self._closed = True
            if not drain:
                while self._queue:
                    self._drop_locked(self._queue.popleft(), "closed")
            self._cond.notify_all()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout_s)
            if t.is_alive():
                log.warning("%s worker did not stop within %.1fs", self.name, timeout_s)
        with self._cond:
            while self._queue:
                self._drop_locked(self._queue.popleft(), "closed")

    def __enter__(self) -> CrossCameraBatcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- producers -------------------------------------------------------------------------
    def submit(self, key: str, payload: np.ndarray, *, flush: bool = False) -> Future[np.ndarray]:
        """Queue one input of camera ``key``; ``flush`` runs the queue without waiting."""
        return self.submit_many([(key, payload)], flush=flush)[0]

    def submit_many(
        self, items: Sequence[tuple[str, np.ndarray]], *, flush: bool = True
    ) -> list[Future[np.ndarray]]:
        """Queue several inputs at once (in order); with ``flush`` the worker runs them (and
        whatever else is queued) without waiting for ``max_wait_ms``."""
        futures: list[Future[np.ndarray]] = []
        now = time.monotonic()
        with self._cond:
            if self._closed:
                raise RuntimeError(f"{self.name} is closed")
            for n, (key, payload) in enumerate(items):
                fut: Future[np.ndarray] = Future()
                is_flush = flush and n == len(items) - 1
                if len(self._queue) >= self.queue_size:
                    self._drop_locked(self._queue.popleft(), "queue_full")
                self._queue.append(_Item(key, payload, fut, is_flush, now))
                self._flushes += is_flush
                self._submitted += 1
                futures.append(fut)
            self._cond.notify_all()
        return futures

    def stats(self) -> BatcherStats:
        """A snapshot of the counters."""
        with self._cond:
            return BatcherStats(
                submitted=self._submitted,
                completed=self._completed,
                failed=self._failed,
                batches=self._batches,
                largest_batch=self._largest,
                dropped=dict(self._dropped),
            )

    def pending(self) -> int:
        """Inputs waiting in the queue."""
        with self._cond:
            return len(self._queue)

    # -- worker ----------------------------------------------------------------------------
    def _drop_locked(self, item: _Item, cause: str) -> None:
        if self._flushes and item.flush:
            self._flushes -= 1
        self._dropped[f"{cause}:{item.key}"] += 1
        if item.future.set_running_or_notify_cancel():
            item.future.set_exception(
                Dropped(f"{self.name}: input of {item.key!r} dropped ({cause})")
            )

    def _take_batch(self) -> list[_Item] | None:
        with self._cond:
            while not self._queue:
                if self._closed:
                    return None
                self._cond.wait()
            deadline = self._queue[0].enqueued + self.max_wait_s
            while len(self._queue) < self.max_batch and not self._flushes and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
                if not self._queue:  # everything was dropped meanwhile
                    return []
            n = min(self.max_batch, len(self._queue))
            batch = [self._queue.popleft() for _ in range(n)]
            self._flushes -= sum(1 for it in batch if it.flush)
            return batch

    def _worker(self) -> None:
        while True:
            batch = self._take_batch()
            if batch is None:
                return
            live = [it for it in batch if it.future.set_running_or_notify_cancel()]
            # Inputs of different shapes cannot be stacked: run each shape group separately.
            groups: dict[tuple[tuple[int, ...], str], list[_Item]] = {}
            for it in live:
                groups.setdefault((it.payload.shape, str(it.payload.dtype)), []).append(it)
            for group in groups.values():
                self._run_group(group)

    def _run_group(self, group: list[_Item]) -> None:
        try:
            out = np.asarray(self._run(np.stack([it.payload for it in group])))
            if out.shape[:1] != (len(group),):
                rows = out.shape[0] if out.ndim else 0
                raise ValueError(f"run returned {rows} rows for {len(group)} inputs")
        except Exception as exc:
            log.exception("%s: batch of %d failed", self.name, len(group))
            err = BatchFailed(f"{self.name}: batch of {len(group)} failed: {exc}")
            err.__cause__ = exc
            for it in group:
                it.future.set_exception(err)
            with self._cond:
                self._failed += len(group)
                self._batches += 1
            return
        for i, it in enumerate(group):
            it.future.set_result(out[i])
        with self._cond:
            self._completed += len(group)
            self._batches += 1
            self._largest = max(self._largest, len(group))
