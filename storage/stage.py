"""The storage stage of one run: database, journal-backed recorder, media, retention, clips.

:meth:`StorageStage.open` brings them up in order and names each step in ``started`` as it
comes up, so that the caller can stop, in reverse, exactly what was started even when a later
step fails. Opening replays what the journal holds and closes, before any camera starts, the
incidents an earlier process left open.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from storage.clips import ClipWriter
from storage.errors import MediaError
from storage.intake import Intake
from storage.journal import Entry, Journal, Pending, import_legacy_spool
from storage.media import MediaStore, RetentionSweeper
from storage.paths import path_problems
from storage.recorder import DurableRecorder, interrupted_closes
from storage.settings import StorageConfig
from storage.store import Store

log = logging.getLogger(__name__)

#: Name of the spool file older Vigil versions wrote beside the media directory.
LEGACY_SPOOL = "unsaved-updates.jsonl"


class StorageStage:
    """What one run stores through; parts are None until :meth:`open` reached them.

    A ``store`` passed in is used as is (its owner closes it); otherwise one is opened from
    ``config``. ``on_stored`` runs whenever the database took something (wake the publisher);
    ``on_lost`` once per update neither the journal nor the database took.
    """

    def __init__(
        self,
        config: StorageConfig,
        *,
        store: Store | None = None,
        on_stored: Callable[[], None],
        on_lost: Callable[[], None],
    ) -> None:
        self.config = config
        self.owns_store = store is None
        self.store: Store | None = store
        self.recorder: DurableRecorder | None = None
        self.intake: Intake | None = None
        self.media: MediaStore | None = None
        self.sweeper: RetentionSweeper | None = None
        self.clip_writer: ClipWriter | None = None
        self._on_stored = on_stored
        self._on_lost = on_lost

    def open(self, started: list[str], *, now_s: float) -> None:
        """Open everything in order, appending ``storage``, ``recorder``, ``retention`` and
        ``clips`` to ``started`` as each is up (``now_s``: when interrupted incidents close).

        Raises MediaError when ``media_dir`` is a folder retention could harm, JournalError
        when the journal cannot be written.
        """
        problems = path_problems(self.config)
        if problems:  # retention sweeps media_dir: never start on a folder it could harm
            raise MediaError("; ".join(str(p) for p in problems))
        if self.owns_store:
            self.store = Store.open(self.config)
        assert self.store is not None
        started.append("storage")
        self.recorder = DurableRecorder(
            self.store,
            Journal(self.config.journal_path()),
            on_stored=lambda _entry: self._on_stored(),
        )
        self.intake = Intake(
            self.recorder, self.store, on_stored=self._on_stored, on_lost=self._on_lost
        )
        found = self.recorder.start()  # JournalError if the journal cannot be written
        started.append("recorder")
        legacy = Path(self.config.media_dir).expanduser().resolve().parent / LEGACY_SPOOL
        imported = import_legacy_spool(legacy, self.recorder.submit_update)
        self._close_interrupted(found.entries + tuple(imported), now_s)
        self.media = MediaStore(self.config)
        self.sweeper = RetentionSweeper(self.media, self.store)
        self.sweeper.start()
        started.append("retention")
        self.clip_writer = ClipWriter(self.media)
        self.clip_writer.start()
        started.append("clips")

    def _close_interrupted(self, replayed: tuple[Entry, ...], now_s: float) -> None:
        """Close the incidents an earlier process left open (in the database or the journal)."""
        assert self.store is not None and self.intake is not None
        for upd in interrupted_closes(self.store, replayed, now_s=now_s):
            log.warning(
                "incident %s (%s on %s) was left open by an earlier run: closed as %s",
                upd.incident_id,
                upd.event_type,
                upd.camera_id,
                upd.close_reason,
            )
            self.intake.accept(Pending(upd))
