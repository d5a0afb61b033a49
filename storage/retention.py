"""Media retention: delete the oldest media by age and by total size, never the media of an
incident that is still open, and files Vigil wrote that the database does not know (orphans).

``MediaStore.sweep`` runs one sweep; ``RetentionSweeper`` runs it periodically in a thread.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from storage.errors import MediaError, StorageError
from storage.records import MediaRef, StoredMedia
from storage.settings import RetentionConfig

if TYPE_CHECKING:
    from storage.media import MediaStore
    from storage.store import Store

#: The logger of ``storage.media``, where these lines were always logged (operators filter on it).
log = logging.getLogger("storage.media")

#: Files not in the database (a crash between writing and recording) are deleted after this.
ORPHAN_GRACE_S = 3600.0
#: The only files retention may delete without a database row: what Vigil itself writes,
#: ``<YYYY-MM-DD>/<incident id>/`` + a keyframe, a clip, or a temporary file of either.
_OWN_FILE = re.compile(
    r"^\d{4}-\d{2}-\d{2}/[A-Za-z0-9][A-Za-z0-9._:-]{0,127}/"
    r"(keyframe-[a-z0-9_-]+-\d+\.jpg|clip-\d+\.mp4|\.tmp-[0-9a-f]{32}\.(jpg|mp4))$"
)


def is_vigil_media_path(relative: str) -> bool:
    """True for a path (relative to the media dir) of the shape Vigil writes media under."""
    return bool(_OWN_FILE.match(relative)) and ".." not in relative.split("/")


@dataclass(frozen=True, slots=True)
class SweepResult:
    """What one retention sweep did."""

    deleted: tuple[MediaRef, ...]
    deleted_bytes: int
    orphans_deleted: int
    kept_open: int
    remaining_bytes: int

    @property
    def deleted_count(self) -> int:
        """How many recorded media files were deleted."""
        return len(self.deleted)


#: One media row to delete: its id, what it is, and why ("age" or "size").
_Victim = tuple[int, MediaRef, str]


def sweep_media(
    media: MediaStore, store: Store, *, now: float, orphans: bool = True
) -> SweepResult:
    """One retention sweep of ``media`` at time ``now`` (see ``MediaStore.sweep``)."""
    retention = media.config.retention
    max_bytes = int(retention.max_gb * 1024**3)
    rows = store.media_for_retention()
    victims, kept_open, total = _pick_victims(rows, retention, now=now, max_bytes=max_bytes)
    deleted, done_ids, freed = _delete_victims(media.root, media.path_of, victims)
    if done_ids:
        store.delete_media_rows(done_ids)
    if total > max_bytes:
        log.warning(
            "retention: media uses %.2f GB (limit %.2f GB) but the rest belongs to open incidents",
            total / 1024**3,
            retention.max_gb,
        )
    orphan_count = 0
    if orphans:
        known = {r.ref.path for r in rows}
        orphan_count = delete_orphans(media.root, known, now)
    if deleted or orphan_count:
        log.info(
            "retention sweep: deleted %d files (%d bytes) and %d orphans; %d bytes remain",
            len(deleted),
            freed,
            orphan_count,
            total,
        )
    return SweepResult(
        deleted=tuple(deleted),
        deleted_bytes=freed,
        orphans_deleted=orphan_count,
        kept_open=kept_open,
        remaining_bytes=total,
    )


def _pick_victims(
    rows: list[StoredMedia], retention: RetentionConfig, *, now: float, max_bytes: int
) -> tuple[list[_Victim], int, int]:
    """The rows to delete (oldest first), how many were kept for open incidents, and the
    bytes that remain once the victims are gone."""
    age_cutoff = now - retention.days * 86400
    total = sum(r.ref.bytes for r in rows)
    victims: list[_Victim] = []
    kept_open = 0
    for r in rows:  # oldest first
        too_old = r.created_ts_s < age_cutoff
        too_big = total > max_bytes
        if not (too_old or too_big):
            continue
        if r.incident_open:
            kept_open += 1
            continue
        victims.append((r.id, r.ref, "age" if too_old else "size"))
        total -= r.ref.bytes
    return victims, kept_open, total


def _delete_victims(
    root: Path, path_of: Callable[[MediaRef], Path], victims: list[_Victim]
) -> tuple[list[MediaRef], list[int], int]:
    """Delete the victims' files; returns the deleted refs, the row ids to forget (deleted,
    or pointing outside the media dir) and the bytes freed."""
    deleted: list[MediaRef] = []
    done_ids: list[int] = []
    freed = 0
    for row_id, ref, reason in victims:
        try:
            path = path_of(ref)
            if (root / ref.path).is_symlink():
                raise MediaError(f"media path {ref.path!r} is a symbolic link")
            path.unlink(missing_ok=True)
        except MediaError as exc:
            log.error("retention: not deleting %r: %s", ref.path, exc)
            done_ids.append(row_id)  # forget a row that points outside the media dir
            continue
        except OSError as exc:
            log.error("retention: cannot delete %s: %s", ref.path, exc)
            continue
        _remove_empty_parents(path.parent, root)
        log.info(
            "retention: deleted %s (%d bytes, incident %s, by %s)",
            ref.path,
            ref.bytes,
            ref.incident_id,
            reason,
        )
        deleted.append(ref)
        done_ids.append(row_id)
        freed += ref.bytes
    return deleted, done_ids, freed


def delete_orphans(root: Path, known: set[str], now: float) -> int:
    """Delete files Vigil wrote (by their path shape) that the database does not know.

    Anything else under the media dir is never touched, symbolic links are never
    followed nor deleted, and each deletion is logged.
    """
    count = 0
    for dirpath, _dirs, files in os.walk(root, followlinks=False):
        for name in files:
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            if rel in known or not is_vigil_media_path(rel):
                continue
            try:
                st = full.lstat()
                if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
                    continue
                if now - st.st_mtime < ORPHAN_GRACE_S:
                    continue
                full.unlink()
            except OSError:
                continue
            log.info("retention: deleted orphan file %s (not in the database)", rel)
            count += 1
    return count


class RetentionSweeper:
    """Runs ``MediaStore.sweep`` every ``retention.sweep_interval_s`` in a thread."""

    def __init__(self, media: MediaStore, store: Store) -> None:
        """Prepare; call ``start()``."""
        self.media = media
        self.store = store
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Sweep now and then periodically."""
        self._thread = threading.Thread(target=self._run, name="vigil-retention", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 60.0) -> None:
        """Stop after the current sweep, waiting at most ``timeout_s`` for it (a sweep stuck
        on the database is left to end by itself in its daemon thread)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            self._thread = None

    def _run(self) -> None:
        interval = self.media.config.retention.sweep_interval_s
        while not self._stop.is_set():
            try:
                self.media.sweep(self.store)
            except StorageError as exc:
                log.warning("retention sweep failed: %s", exc)
            except Exception:  # pragma: no cover - keep sweeping after a bug, loudly
                log.exception("retention sweep crashed")
            self._stop.wait(interval)


def _remove_empty_parents(folder: Path, root: Path) -> None:
    while folder != root and folder.is_relative_to(root):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
