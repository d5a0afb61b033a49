"""The journal: an append-only, fsync'd local log of everything the pipeline accepted.

An incident update (with its report and media), a later generated report, or a media file
recorded after its incident, is *accepted* only once its line is on local disk here. The
database writer stores journal entries in order and appends a ``done`` watermark after each;
at start, every entry after the newest watermark is replayed. A SIGKILL at any moment
therefore loses nothing that was accepted: either its line is complete (replayed, and the
database writes are idempotent), or the line is torn and the entry was never accepted
(nobody was told about it).

Layout, in ``storage.journal_dir``: ``journal.jsonl`` (the log), ``rejected.jsonl`` (entries the
database refused for good, kept for an operator), ``quarantine-<time>.jsonl`` (unreadable lines
found at start), and ``.lock`` (one process per journal).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

from reports.types import Report
from storage.errors import StorageError
from storage.journal_format import (
    Entry,
    EntryKind,
    Pending,
    entry_from_json,
    entry_to_json,
    pending_from_json,
    pending_to_json,
)
from storage.legacy_spool import import_legacy_spool
from storage.records import MediaRef

log = logging.getLogger(__name__)

JOURNAL_NAME = "journal.jsonl"
REJECTED_NAME = "rejected.jsonl"
LOCK_NAME = ".lock"
#: Compact the journal (drop stored entries) once it is this large and fully stored.
COMPACT_BYTES = 1 << 20


class JournalError(StorageError):
    """The journal cannot be written: nothing new can be accepted durably."""


# --- the journal ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """What was found in the journal at open."""

    entries: tuple[Entry, ...]
    unreadable: int
    torn_tail: bool
    quarantine: Path | None


class Journal:
    """The append-only journal of one Vigil process (others are refused by a file lock).

    ``append`` returns only after the line is fsync'd; ``mark_done(seq)`` records that every
    entry up to ``seq`` is stored. Thread-safe.
    """

    def __init__(self, folder: str | Path) -> None:
        """Remember where the journal lives; ``open()`` takes the lock and reads it."""
        self.folder = Path(folder).expanduser().resolve()
        self.path = self.folder / JOURNAL_NAME
        self.rejected_path = self.folder / REJECTED_NAME
        self._lock = threading.Lock()
        self._fh: BinaryIO | None = None
        self._lock_fh: IO[str] | None = None
        self._next_seq = 1
        self._done = 0
        self._size = 0

    # -- open / close ---------------------------------------------------------------------

    def open(self) -> ReplayResult:
        """Create the folder, take the lock, check it is writable and read what is not stored.

        Raises ``JournalError`` naming the folder when any of that fails.
        """
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise JournalError(
                f"storage.journal_dir {str(self.folder)!r}: cannot create: {exc}"
            ) from exc
        self._take_lock()
        try:
            result = self._read_existing()
            self._fh = open(self.path, "ab", buffering=0)  # noqa: SIM115 - kept for appends
            self._probe()
        except OSError as exc:
            self._release_lock()
            raise JournalError(
                f"storage.journal_dir {str(self.folder)!r} is not writable: {exc}"
            ) from exc
        except BaseException:
            self._release_lock()
            raise
        self._size = self.path.stat().st_size
        return result

    def _take_lock(self) -> None:
        lock_path = self.folder / LOCK_NAME
        try:
            fh = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 - held until close
        except OSError as exc:
            raise JournalError(
                f"storage.journal_dir {str(self.folder)!r}: cannot open {LOCK_NAME}: {exc}"
            ) from exc
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            fh.seek(0)
            holder = fh.read().strip() or "?"
            fh.close()
            raise JournalError(
                f"storage.journal_dir {str(self.folder)!r} is in use by another Vigil process "
                f"(pid {holder}); give each process its own journal_dir"
            ) from exc
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._lock_fh = fh

    def _release_lock(self) -> None:
        if self._lock_fh is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_fh.fileno(), fcntl.LOCK_UN)
            self._lock_fh.close()
            self._lock_fh = None

    def _probe(self) -> None:
        """Prove the disk takes a write and an fsync now (not at the first incident)."""
        probe = self.folder / f".probe-{os.getpid()}"
        with open(probe, "wb") as fh:
            fh.write(b"vigil")
            fh.flush()
            os.fsync(fh.fileno())
        probe.unlink()

    def close(self) -> None:
        """Flush and release the journal (entries not stored stay for the next start)."""
        with self._lock:
            if self._fh is not None:
                with contextlib.suppress(OSError):
                    self._fh.flush()
                    os.fsync(self._fh.fileno())
                self._fh.close()
                self._fh = None
        self._release_lock()

    @property
    def is_open(self) -> bool:
        """True between ``open()`` and ``close()``."""
        return self._fh is not None

    # -- reading --------------------------------------------------------------------------

    def _lines(self) -> Iterator[tuple[int, bytes, bool]]:
        """(line number, raw line, complete) for each line of the journal file."""
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        lines = data.split(b"\n")
        for n, raw in enumerate(lines, 1):
            last = n == len(lines)
            if last and raw == b"":
                return
            yield n, raw, not last

    def _read_existing(self) -> ReplayResult:
        entries: dict[int, Entry] = {}
        done = 0
        max_seq = 0
        bad: list[bytes] = []
        torn = False
        good_bytes = 0
        for n, raw, complete in self._lines():
            if not raw.strip():
                good_bytes += len(raw) + 1
                continue
            try:
                data = json.loads(raw)
                if data.get("op") == "done":
                    done = max(done, int(data["upto"]))
                else:
                    entry = entry_from_json(data)
                    entries[entry.seq] = entry
                    max_seq = max(max_seq, entry.seq)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                if not complete:
                    # a crash while writing this line: it was never fsync'd, never accepted
                    torn = True
                    log.warning(
                        "journal %s: incomplete last line %d (a crash while writing it; that "
                        "entry was never accepted) removed",
                        self.path,
                        n,
                    )
                    break
                log.error(
                    "journal %s line %d unreadable, moved to the quarantine file: %s",
                    self.path,
                    n,
                    exc,
                )
                bad.append(raw)
            if complete:
                good_bytes += len(raw) + 1
        if torn:
            with open(self.path, "r+b") as fh:
                fh.truncate(good_bytes)
                fh.flush()
                os.fsync(fh.fileno())
        elif self.path.exists() and self.path.stat().st_size > good_bytes:
            # a complete final line that lacks its newline: add it so appends stay separate
            with open(self.path, "ab") as fh:
                fh.write(b"\n")
        quarantine = None
        if bad:
            quarantine = self.folder / f"quarantine-{time.strftime('%Y%m%dT%H%M%S')}.jsonl"
            with open(quarantine, "ab") as fh:
                fh.write(b"\n".join(bad) + b"\n")
                fh.flush()
                os.fsync(fh.fileno())
        self._done = done
        self._next_seq = max(max_seq, done) + 1
        todo = tuple(e for s, e in sorted(entries.items()) if s > done)
        return ReplayResult(todo, len(bad), torn, quarantine)

    def read_after(self, seq: int, limit: int) -> list[Entry]:
        """Up to ``limit`` entries with a seq above ``seq``, oldest first (for a writer that
        could not keep everything in memory)."""
        with self._lock:
            if self._fh is not None:
                self._fh.flush()
        out: list[Entry] = []
        for _n, raw, complete in self._lines():
            if not complete or not raw.strip():
                continue
            try:
                data = json.loads(raw)
                if data.get("op") == "done" or int(data["seq"]) <= seq:
                    continue
                out.append(entry_from_json(data))
            except (ValueError, TypeError, KeyError, AttributeError):
                continue  # reported at open; a later line cannot be torn while we hold it
            if len(out) >= limit:
                break
        return out

    # -- writing --------------------------------------------------------------------------

    def _write(self, obj: dict[str, Any], *, sync: bool) -> None:
        if self._fh is None:
            raise JournalError(f"journal {self.path} is closed")
        line = (json.dumps(obj, separators=(",", ":"), allow_nan=True) + "\n").encode()
        try:
            view = memoryview(line)
            while view:  # unbuffered: a short write is finished here or fails here
                n = self._fh.write(view)
                view = view[n or 0 :]
            if sync:
                os.fsync(self._fh.fileno())
        except OSError as exc:
            # never leave a torn line behind: cut the file back to its last whole line
            with contextlib.suppress(OSError):
                self._fh.truncate(self._size)
            full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
            raise JournalError(
                f"journal {self.path}: {'disk full' if full else 'write failed'}: {exc}"
            ) from exc
        self._size += len(line)

    def append(
        self,
        kind: EntryKind,
        *,
        pending: Pending | None = None,
        report: Report | None = None,
        media: MediaRef | None = None,
    ) -> Entry:
        """Write one entry and fsync it; returns it with its seq. ``JournalError`` if the
        disk refuses (then the entry is NOT accepted)."""
        with self._lock:
            entry = Entry(self._next_seq, kind, pending=pending, report=report, media=media)
            self._write(entry_to_json(entry), sync=True)
            self._next_seq += 1
            return entry

    def mark_done(self, seq: int) -> None:
        """Record that every entry up to ``seq`` is stored (not fsync'd: a lost watermark
        only means an idempotent replay)."""
        with self._lock:
            if seq <= self._done or self._fh is None:
                return
            self._done = seq
            try:
                self._write({"op": "done", "upto": seq}, sync=False)
            except JournalError as exc:
                log.warning("journal watermark not written (entries replay at start): %s", exc)
                return
            if self._done == self._next_seq - 1 and self._size >= COMPACT_BYTES:
                self._compact()

    def _compact(self) -> None:
        """Everything is stored: start the file again (caller holds the lock)."""
        assert self._fh is not None
        try:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.truncate(0)
            self._fh.seek(0)
            self._write({"op": "done", "upto": self._done}, sync=True)
            self._size = self.path.stat().st_size
        except OSError as exc:
            log.warning("journal %s not compacted: %s", self.path, exc)

    def reject(self, entry: Entry, why: str) -> None:
        """Keep an entry the database refused for good in ``rejected.jsonl`` (fsync'd)."""
        line = entry_to_json(entry)
        line["rejected"] = why
        line["rejected_ts_s"] = time.time()
        try:
            with open(self.rejected_path, "ab") as fh:
                fh.write((json.dumps(line) + "\n").encode())
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise JournalError(f"{self.rejected_path}: cannot keep a refused entry: {exc}") from exc

    @property
    def last_seq(self) -> int:
        """The seq of the newest entry (0 when none)."""
        return self._next_seq - 1

    @property
    def done_seq(self) -> int:
        """Every entry up to this seq is stored."""
        return self._done

    def backlog(self) -> int:
        """Entries accepted but not yet stored."""
        with self._lock:
            return self._next_seq - 1 - self._done


__all__ = [
    "COMPACT_BYTES",
    "JOURNAL_NAME",
    "LOCK_NAME",
    "REJECTED_NAME",
    "Entry",
    "EntryKind",
    "Journal",
    "JournalError",
    "Pending",
    "ReplayResult",
    "entry_from_json",
    "entry_to_json",
    "import_legacy_spool",
    "pending_from_json",
    "pending_to_json",
]
