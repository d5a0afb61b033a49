"""Durable recording: the journal in front, a writer thread behind, the database last.

``submit_*`` writes the item to the journal (fsync'd) and returns: from then on it is accepted
and survives a SIGKILL. One writer thread stores journal entries in order through the
``Store`` (each write idempotent), then marks them done. Detection never waits on the
database: a locked SQLite or a hung PostgreSQL only makes the backlog grow, on local disk.

The in-memory queue is bounded; past its bound, entries stay on disk only and the writer reads
them back from the journal when it catches up. A transient refusal (database down, locked,
disk full) is retried with backoff; a permanent one (a constraint, a value the database
rejects) moves that entry to the journal's ``rejected.jsonl`` with an ERROR and goes on.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from detectors.types import IncidentUpdate, UpdateKind
from reports.types import Report
from storage.errors import ConstraintViolation, StorageError
from storage.journal import Entry, Journal, JournalError, Pending, ReplayResult
from storage.records import MediaRef
from storage.store import Store
from streamer.throttle import LogThrottle

log = logging.getLogger(__name__)

#: Entries kept in memory for the writer; the rest waits in the journal file.
QUEUE_MAX = 10_000


@dataclass
class RecorderStats:
    """Counters of the durable recorder."""

    accepted: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    #: Journal lines unreadable at start, and refused entries that could not be kept: each
    #: is an ERROR and makes the process exit non-zero.
    lost: int = 0
    replayed: int = 0
    retries: int = 0


class DurableRecorder:
    """Accepts incident updates, reports and media into the journal and stores them."""

    def __init__(
        self,
        store: Store,
        journal: Journal,
        *,
        on_stored: Callable[[Entry], None] | None = None,
        queue_max: int = QUEUE_MAX,
        retry_max_s: float = 5.0,
    ) -> None:
        """Prepare; ``start()`` opens the journal, queues what it holds and starts the writer."""
        self.store = store
        self.journal = journal
        self.stats = RecorderStats()
        self._on_stored = on_stored
        self._queue: deque[Entry] = deque()
        self._queue_max = queue_max
        self._spilled_after: int | None = None  # entries above this seq are on disk only
        self._last_queued = 0
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._draining = False
        self._thread: threading.Thread | None = None
        self._retry_max_s = retry_max_s
        self._error_log = LogThrottle(10.0)
        self._busy = False

    # -- start / stop -----------------------------------------------------------------------

    def start(self) -> ReplayResult:
        """Open the journal (``JournalError`` if it cannot be written), queue the entries a
        previous process accepted but did not store, and start the writer."""
        found = self.journal.open()
        if found.unreadable:
            self.stats.lost += found.unreadable
            log.error(
                "journal %s: %d unreadable entr%s kept in %s and NOT stored",
                self.journal.path,
                found.unreadable,
                "y" if found.unreadable == 1 else "ies",
                found.quarantine,
            )
        if found.entries:
            log.warning(
                "journal %s: replaying %d entr%s accepted by an earlier run but not stored",
                self.journal.path,
                len(found.entries),
                "y" if len(found.entries) == 1 else "ies",
            )
            self.stats.replayed = len(found.entries)
            for entry in found.entries:
                self._enqueue(entry)
        self._thread = threading.Thread(target=self._run, name="vigil-db-writer", daemon=True)
        self._thread.start()
        return found

    def stop(self, timeout_s: float = 3.0) -> int:
        """Store what is queued for up to ``timeout_s``, then stop; returns how many entries
        are left in the journal for the next start (never lost)."""
        thread = self._thread
        if thread is not None:
            with self._cond:
                self._draining = True
                self._cond.notify_all()
            deadline = time.monotonic() + timeout_s
            self.wait_idle(timeout_s)
            self._stop.set()
            with self._cond:
                self._cond.notify_all()
            thread.join(timeout=max(0.1, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("database writer still busy at stop (the database does not answer)")
            self._thread = None
        left = self.journal.backlog()
        self.journal.close()
        if left:
            log.warning(
                "%d accepted entr%s not stored yet; kept in %s and stored at the next start",
                left,
                "y" if left == 1 else "ies",
                self.journal.path,
            )
        return left

    # -- accepting --------------------------------------------------------------------------

    def submit_update(self, pending: Pending) -> Entry:
        """Accept an incident update (with its report and media): journal, then queue.

        Raises ``JournalError`` (logged at ERROR) when the journal cannot take it: the update
        is then NOT accepted, and the caller decides (store it directly, or count it lost).
        """
        return self._accept("update", pending=pending)

    def submit_report(self, report: Report) -> Entry:
        """Accept a later (generated) report of an incident."""
        return self._accept("report", report=report)

    def submit_media(self, ref: MediaRef) -> Entry:
        """Accept a media file written after its incident's update was accepted."""
        return self._accept("media", media=ref)

    def _accept(
        self,
        kind: str,
        *,
        pending: Pending | None = None,
        report: Report | None = None,
        media: MediaRef | None = None,
    ) -> Entry:
        try:
            entry = self.journal.append(
                kind,  # type: ignore[arg-type]
                pending=pending,
                report=report,
                media=media,
            )
        except JournalError as exc:
            what = Entry(0, kind, pending=pending, report=report, media=media)  # type: ignore[arg-type]
            log.error("%s not journalled: %s", what.describe(), exc)
            raise
        self.stats.accepted += 1
        self._enqueue(entry)
        return entry

    def _enqueue(self, entry: Entry) -> None:
        with self._cond:
            if entry.seq <= self._last_queued:
                return  # already read back from the journal
            if self._spilled_after is None and len(self._queue) < self._queue_max:
                self._queue.append(entry)
                self._last_queued = entry.seq
            elif self._spilled_after is None:
                self._spilled_after = entry.seq - 1
            self._cond.notify_all()

    # -- state ------------------------------------------------------------------------------

    def backlog(self) -> int:
        """Entries accepted but not stored yet."""
        return self.journal.backlog() if self.journal.is_open else 0

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until everything accepted is stored (True) or ``timeout_s`` passed (False)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._queue or self._spilled_after is not None or self._busy:
                left = deadline - time.monotonic()
                if left <= 0 or self._thread is None:
                    return False
                self._cond.wait(min(left, 0.1))
        return True

    # -- the writer thread ------------------------------------------------------------------

    def _next(self) -> Entry | None:
        with self._cond:
            while not self._stop.is_set():
                if not self._queue and self._spilled_after is not None:
                    self._refill()
                if self._queue:
                    self._busy = True
                    return self._queue[0]
                self._cond.wait(0.5)
        return None

    def _refill(self) -> None:
        """Read entries that did not fit in memory back from the journal (lock held)."""
        after = self._spilled_after
        assert after is not None
        entries = self.journal.read_after(after, self._queue_max)
        self._queue.extend(entries)
        if entries:
            self._last_queued = max(self._last_queued, entries[-1].seq)
        full = len(entries) >= self._queue_max
        self._spilled_after = entries[-1].seq if full else None

    def _run(self) -> None:
        backoff = 0.2
        while True:
            entry = self._next()
            if entry is None:
                return
            try:
                stored = self._store(entry)
            except ConstraintViolation as exc:
                self._reject(entry, f"refused by the database: {exc}")
            except StorageError as exc:
                self.stats.retries += 1
                self._log_retry(exc)
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
                    # a stop (or the drain before it) wakes the wait and retries sooner
                    self._cond.wait(0.2 if self._draining else backoff)
                if self._stop.is_set():
                    return
                backoff = min(self._retry_max_s, backoff * 2)
                continue
            except Exception as exc:
                log.exception("%s not storable", entry.describe())
                self._reject(entry, f"not storable: {exc}")
            else:
                if stored:
                    self.stats.stored += 1
                else:
                    self.stats.duplicates += 1
            backoff = 0.2
            self._done(entry)

    def _store(self, entry: Entry) -> bool:
        if entry.pending is not None:
            new = self.store.record(entry.pending.update, report=entry.pending.report)
            for ref in entry.pending.media:
                self._store_media(ref)
            return new
        if entry.report is not None:
            self.store.add_report(entry.report, dedupe=True)
            return True
        assert entry.media is not None
        return self.store.add_media(entry.media)

    def _store_media(self, ref: MediaRef) -> None:
        try:
            self.store.add_media(ref)
        except ConstraintViolation as exc:
            log.warning("media %s not recorded: %s", ref.path, exc)

    def _reject(self, entry: Entry, why: str) -> None:
        self.stats.rejected += 1
        try:
            self.journal.reject(entry, why)
        except JournalError as exc:
            self.stats.lost += 1
            log.error("%s LOST: %s; and %s", entry.describe(), why, exc)
            return
        log.error("%s %s; kept in %s", entry.describe(), why, self.journal.rejected_path)

    def _done(self, entry: Entry) -> None:
        with self._cond:
            if self._queue and self._queue[0] is entry:
                self._queue.popleft()
            self._busy = False
            self._cond.notify_all()
        self.journal.mark_done(entry.seq)
        if self._on_stored is not None:
            try:
                self._on_stored(entry)
            except Exception:
                log.exception("stored-entry callback failed")

    def _log_retry(self, exc: Exception) -> None:
        if self._error_log.ready():
            log.error(
                "database write failed, %d accepted entr%s waiting in the journal: %s",
                self.backlog(),
                "y" if self.backlog() == 1 else "ies",
                exc,
            )


def interrupted_closes(
    store: Store, replayed: tuple[Entry, ...], *, now_s: float, reason: str = "interrupted"
) -> list[IncidentUpdate]:
    """Close updates for the incidents an earlier process left open on camera.

    Looks at the database and at the journal entries being replayed (which the database may
    not hold yet), so an incident whose close is still in the journal is not closed twice.
    """
    closes = {c.incident_id: c for c in store.interrupted_closes(reason)}
    latest: dict[str, IncidentUpdate] = {}
    for entry in replayed:
        if entry.pending is None:
            continue
        upd = entry.pending.update
        seen = latest.get(upd.incident_id)
        if seen is None or upd.version > seen.version:
            latest[upd.incident_id] = upd
    for incident_id, upd in latest.items():
        known = closes.get(incident_id)
        if upd.kind is UpdateKind.CLOSE:
            if known is None or upd.version >= known.version - 1:
                closes.pop(incident_id, None)
        elif known is None or upd.version >= known.version:
            closes[incident_id] = dataclasses.replace(
                upd,
                version=upd.version + 1,
                kind=UpdateKind.CLOSE,
                ts_s=max(now_s, upd.ts_s),
                closed_ts_s=upd.ts_s,
                close_reason=reason,
            )
    return sorted(closes.values(), key=lambda u: (u.opened_ts_s, u.incident_id))
