"""Reports off the hot path: the template at once, the generated report later from a worker.

``initial()`` returns the template report synchronously, so an incident and its alert never
wait for a model. ``submit()`` queues the evidence on a bounded queue served by a small pool of
worker threads; each result (generated, or the template with the fallback reason) is passed to
``on_report`` from a worker thread. A full queue drops the request (counted and logged: the
template report already stands); a request superseded by a newer version of the same incident
before a worker reaches it is skipped.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable

from reports.backends import BackendError, Generator, build_generator
from reports.evidence import Evidence
from reports.generate import generate_report
from reports.settings import ReportsConfig
from reports.template import template_report
from reports.types import Report

log = logging.getLogger(__name__)

#: How often an idle worker checks whether the service stopped (a sentinel usually wakes it).
_IDLE_POLL_S = 1.0

#: How long stop() waits for cancelled generations to end after closing the backend.
_CANCEL_GRACE_S = 1.0

#: Counter names in :meth:`ReportService.stats`.
STAT_NAMES = (
    "submitted",
    "generated",
    "fallback",
    "dropped_queue_full",
    "dropped_stopped",
    "superseded",
    "callback_errors",
)


class ReportService:
    """Writes incident reports: template synchronously, generated ones on worker threads."""

    def __init__(
        self,
        config: ReportsConfig,
        on_report: Callable[[Report], None],
        *,
        generator: Generator | None = None,
    ) -> None:
        self._config = config
        self._on_report = on_report
        self._generator = generator if generator is not None else build_generator(config)
        self._queue: queue.Queue[Evidence | None] = queue.Queue(maxsize=config.queue_size)
        self._latest: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()  # workers end now
        self._finishing = threading.Event()  # no new work; what is queued may still finish
        self._running: dict[str, str] = {}  # worker name -> incident id being generated
        self._unfinished: list[str] = []  # incident ids of generations given up at stop
        self._closed = threading.Event()
        self._callback_lock = threading.Lock()
        self._counts: Counter[str] = Counter({name: 0 for name in STAT_NAMES})
        self._threads: list[threading.Thread] = []
        if self._generator is not None:
            for i in range(config.workers):
                thread = threading.Thread(target=self._work, name=f"vigil-reports-{i}", daemon=True)
                thread.start()
                self._threads.append(thread)

    @property
    def backend(self) -> str:
        """The configured backend (``template`` when nothing is generated)."""
        return self._generator.name if self._generator is not None else "template"

    def initial(self, evidence: Evidence) -> Report:
        """The template report for ``evidence``, at once."""
        return template_report(evidence, severity_rules=self._config.severity)

    def submit(self, evidence: Evidence) -> None:
        """Queue generation of ``evidence``'s report; never blocks (a full queue drops)."""
        if self._generator is None:
            return
        if self._stopping.is_set() or self._finishing.is_set():
            self._count("dropped_stopped")
            with self._lock:
                self._unfinished.append(evidence.incident_id)
            return
        try:
            self._queue.put_nowait(evidence)
        except queue.Full:
            self._count("dropped_queue_full")
            log.warning(
                "reports: queue full (%d): no generated report for incident %s v%d "
                "(template stands; %d dropped so far)",
                self._config.queue_size,
                evidence.incident_id,
                evidence.version,
                self._counts["dropped_queue_full"],
            )
            return
        with self._lock:
            newest = self._latest.get(evidence.incident_id, -1)
            self._latest[evidence.incident_id] = max(newest, evidence.version)
            self._counts["submitted"] += 1

    def stats(self) -> dict[str, int]:
        """Counters: submitted, generated, fallback, drops by cause, superseded, …"""
        with self._lock:
            return dict(self._counts)

    def pending(self) -> int:
        """Requests waiting in the queue."""
        return self._queue.qsize()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop accepting work, finish what is queued and running within ``timeout_s``, then
        drop the rest, cancel what still runs and release the backend.

        It returns after ``timeout_s`` plus a grace of ``_CANCEL_GRACE_S`` for cancelled
        generations, and ``on_report`` is never called once it returned. Generations given
        up are logged at WARNING with their incident ids (their template reports stand)."""
        if self._stopping.is_set():
            return
        deadline = time.monotonic() + timeout_s
        self._finishing.set()
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._stopping.set()
        self._drop_waiting()
        self._wake_idle_worker()
        with self._lock:
            self._unfinished += self._running.values()
        if self._generator is not None:
            self._generator.close()
        grace = time.monotonic() + _CANCEL_GRACE_S
        for thread in self._threads:
            thread.join(max(0.0, grace - time.monotonic()))
            if thread.is_alive():
                log.warning("reports: worker %s still running after stop", thread.name)
        with self._callback_lock:
            self._closed.set()
        with self._lock:
            unfinished = sorted(set(self._unfinished))
        if unfinished:
            log.warning(
                "reports: stopped before %d generated report(s) were done (template reports "
                "stand) for incident(s) %s",
                len(unfinished),
                ", ".join(unfinished),
            )

    # --- workers -----------------------------------------------------------------------------

    def _count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def _work(self) -> None:
        """A worker thread: load the backend, then generate queued reports until stopped."""
        generator = self._generator
        assert generator is not None
        self._load(generator)
        while not self._stopping.is_set():
            try:
                evidence = self._queue.get(timeout=_IDLE_POLL_S)
            except queue.Empty:
                if self._finishing.is_set():
                    break  # stopping and nothing left to finish
                continue
            if evidence is None:  # stop()'s wake-up
                break
            if self._stopping.is_set():
                self._drop_unfinished(evidence.incident_id)
                break
            if self._superseded(evidence):
                continue
            report = self._generate(evidence, generator)
            self._deliver(evidence, report)
        self._drop_waiting()  # what a submit racing stop() queued
        self._wake_idle_worker()  # pass the wake-up on

    @staticmethod
    def _load(generator: Generator) -> None:
        """Load the backend; on failure the template reports stand (logged, not raised)."""
        try:
            generator.load()
        except BackendError as exc:
            log.warning(
                "reports: %s backend unavailable, template reports stand: %s", generator.name, exc
            )
        except Exception:
            log.exception("reports: loading the %s backend failed", generator.name)

    def _drop_unfinished(self, incident_id: str) -> None:
        """Count a request dropped by stop() and remember its incident as unfinished."""
        self._count("dropped_stopped")
        with self._lock:
            self._unfinished.append(incident_id)

    def _superseded(self, evidence: Evidence) -> bool:
        """Whether a newer version of the incident is queued (counted as superseded)."""
        with self._lock:
            newest = self._latest.get(evidence.incident_id, evidence.version)
            if newest > evidence.version:
                self._counts["superseded"] += 1
                return True
        return False

    def _generate(self, evidence: Evidence, generator: Generator) -> Report:
        """Generate one report, recording it as running on this thread meanwhile."""
        name = threading.current_thread().name
        with self._lock:
            self._running[name] = evidence.incident_id
        try:
            report = generate_report(evidence, generator, self._config)
        finally:
            with self._lock:
                self._running.pop(name, None)
        with self._lock:
            if self._latest.get(evidence.incident_id) == evidence.version:
                del self._latest[evidence.incident_id]
        return report

    def _deliver(self, evidence: Evidence, report: Report) -> None:
        """Pass the report to ``on_report`` unless the service stopped meanwhile."""
        if self._stopping.is_set() and "stopped" in (report.fallback_reason or ""):
            self._drop_unfinished(evidence.incident_id)
            return
        with self._callback_lock:
            if self._closed.is_set():  # never call back after stop() returned
                self._count("dropped_stopped")
                return
            self._count("fallback" if report.fallback_used else "generated")
            try:
                self._on_report(report)
            except Exception:
                self._count("callback_errors")
                log.exception(
                    "reports: on_report failed for incident %s v%d",
                    report.incident_id,
                    report.incident_version,
                )

    def _drop_waiting(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not None:
                self._count("dropped_stopped")
                with self._lock:
                    self._unfinished.append(item.incident_id)

    def _wake_idle_worker(self) -> None:
        """Put the stop sentinel without waiting: a full queue means no worker is idle, and
        an idle worker checks the stop flag every ``_IDLE_POLL_S`` anyway."""
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
