"""Where accepted incident updates, reports and media enter storage.

An update is accepted once the durable recorder has it in its fsync'd journal. If the journal
refuses (disk full, say), the update goes to the database at once; if that fails too, it is
logged at ERROR as LOST and counted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from reports.types import Report
from storage.journal import JournalError, Pending
from storage.recorder import DurableRecorder
from storage.records import MediaRef
from storage.store import Store

log = logging.getLogger(__name__)


class Intake:
    """Hands what the pipeline produced to the durable recorder, with the database as fallback.

    ``on_stored`` runs when something was stored directly (the publisher has a new outbox
    row); ``on_lost`` runs once per update that neither the journal nor the database took.
    """

    def __init__(
        self,
        recorder: DurableRecorder,
        store: Store,
        *,
        on_stored: Callable[[], None],
        on_lost: Callable[[], None],
    ) -> None:
        self.recorder = recorder
        self.store = store
        self._on_stored = on_stored
        self._on_lost = on_lost

    def accept(self, item: Pending) -> None:
        """Accept an update (journal first, then the database)."""
        try:
            self.recorder.submit_update(item)
        except JournalError:
            self._store_directly(item)

    def _store_directly(self, item: Pending) -> None:
        """The journal refused: try the database at once, else count a loss."""
        upd = item.update
        try:
            self.store.record(upd, report=item.report)
            for ref in item.media:
                self.store.add_media(ref)
        except Exception as exc:
            self._on_lost()
            log.error(
                "incident %s version %d LOST: neither the journal nor the database took it: %s",
                upd.incident_id,
                upd.version,
                exc,
            )
            return
        log.error(
            "incident %s version %d stored directly; the journal cannot be written",
            upd.incident_id,
            upd.version,
        )
        self._on_stored()

    def accept_report(self, report: Report) -> None:
        """Keep a generated report (the template report stands if the journal refuses)."""
        try:
            self.recorder.submit_report(report)
        except JournalError:
            log.error(
                "generated report of incident %s not kept (the template report stands)",
                report.incident_id,
            )

    def accept_media(self, ref: MediaRef) -> None:
        """Record a media file written after its incident's update."""
        try:
            self.recorder.submit_media(ref)
        except JournalError as exc:
            log.warning("media %s not recorded: %s", ref.path, exc)
