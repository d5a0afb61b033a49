"""The store: one object the pipeline, the publisher, the API and the CLI share.

Each write is one transaction (``BEGIN IMMEDIATE`` on SQLite). Errors come out as
``StorageError`` subclasses that name the operation and the database (password masked); a
failed write leaves nothing half-written, so the caller may retry it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from detectors.types import IncidentUpdate
from reports.types import Report
from storage import repo_outbox
from storage import repository as repo
from storage.db import READ_ONLY, check_connection, ensure_schema, make_engine, mask_db_url
from storage.errors import (
    AmbiguousIncidentId,
    ConstraintViolation,
    StorageError,
    StorageFull,
)
from storage.records import (
    IncidentDetail,
    IncidentFilter,
    IncidentRecord,
    MediaRef,
    OutboxMessage,
    StoredMedia,
)
from storage.search import Embedder, Mode, SearchHit, backfill_embeddings, search_reports
from storage.settings import StorageConfig
from storage.vector_index import VectorIndexes

log = logging.getLogger(__name__)

T = TypeVar("T")

_DISK_FULL_SQLSTATES = {"53100"}  # PostgreSQL disk_full


def _incident_filter(where: IncidentFilter | None, criteria: dict[str, Any]) -> IncidentFilter:
    """``where``, or an ``IncidentFilter`` of the keyword criteria (TypeError for unknown ones)."""
    if where is not None and criteria:
        raise TypeError("pass an IncidentFilter or keyword criteria, not both")
    return where if where is not None else IncidentFilter(**criteria)


def _is_disk_full(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None) or exc
    if getattr(orig, "sqlstate", None) in _DISK_FULL_SQLSTATES:
        return True
    text = str(orig).lower()
    return "database or disk is full" in text or "no space left on device" in text


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return text.splitlines()[0] if text else type(orig).__name__


class Store:
    """Vigil's database: incidents, their timeline, reports, media, feedback and the outbox."""

    def __init__(
        self,
        engine: Engine,
        config: StorageConfig,
        *,
        url_masked: str,
        clock: Callable[[], float] = time.time,
        embedder: Embedder | None = None,
    ) -> None:
        """Wrap an engine whose schema is current; use ``Store.open`` instead.

        With an ``embedder`` each report written is embedded for semantic search."""
        self.engine = engine
        self.embedder = embedder
        self.config = config
        self.url_masked = url_masked
        self._read_engine = engine.execution_options(**{READ_ONLY: True})
        self._clock = clock
        self.vectors = VectorIndexes()

    @classmethod
    def open(
        cls,
        config: StorageConfig,
        *,
        create_if_empty: bool = True,
        clock: Callable[[], float] = time.time,
        embedder: Embedder | None = None,
    ) -> Store:
        """Connect, check the schema and return the store.

        An empty database gets the schema through the Alembic migrations (so it is stamped);
        with ``create_if_empty=False`` a missing SQLite file is an error and is not created;
        an out-of-date one raises ``SchemaOutOfDate`` naming ``vigil db upgrade -c FILE``; a
        wrong or unreachable URL raises ``StorageError`` naming the URL (password masked).
        """
        masked = mask_db_url(config.database_url)
        db_file = config.sqlite_path()
        if not create_if_empty and db_file is not None and not db_file.exists():
            # reading never creates a database (nor its folder): say which file was looked for
            raise StorageError(
                f"no database at {db_file.resolve()} (storage.database_url {masked}); "
                "check the path, or start `vigil run` / `vigil demo` to create it"
            )
        engine = make_engine(config)
        try:
            check_connection(engine, masked)
            ensure_schema(engine, masked, create_if_empty=create_if_empty)
        except StorageError:
            engine.dispose()
            raise
        except SQLAlchemyError as exc:
            engine.dispose()
            if _is_disk_full(exc):
                raise StorageFull(f"database {masked}: disk full: {_first_line(exc)}") from exc
            raise StorageError(f"database {masked}: {_first_line(exc)}") from exc
        log.info("database %s ready (%s)", masked, engine.dialect.name)
        return cls(engine, config, url_masked=masked, clock=clock, embedder=embedder)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return str(self.engine.dialect.name)

    def close(self) -> None:
        """Release all connections."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- transactions ---------------------------------------------------------------------

    @contextmanager
    def _write(self, what: str) -> Iterator[Session]:
        try:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                yield session
        except IntegrityError as exc:
            raise ConstraintViolation(
                f"{what}: constraint violated in {self.url_masked}: {_first_line(exc)}"
            ) from exc
        except SQLAlchemyError as exc:
            raise self._error(what, exc) from exc

    def _read(self, what: str, fn: Callable[[Session], T]) -> T:
        try:
            with Session(self._read_engine) as session, session.begin():
                return fn(session)
        except SQLAlchemyError as exc:
            raise self._error(what, exc) from exc

    def _error(self, what: str, exc: SQLAlchemyError) -> StorageError:
        if _is_disk_full(exc):
            return StorageFull(
                f"{what}: disk full for database {self.url_masked} ({_first_line(exc)}); "
                "nothing of this write was stored — free space and retry"
            )
        return StorageError(f"{what}: database {self.url_masked}: {_first_line(exc)}")

    # --- writes ---------------------------------------------------------------------------

    def upsert_camera(
        self, *, camera_id: str, name: str, location: str | None, url_masked: str
    ) -> None:
        """Register a camera or update its name, location and masked URL."""
        with self._write(f"saving camera {camera_id!r}") as s:
            repo.upsert_camera(
                s,
                camera_id=camera_id,
                name=name,
                location=location,
                url_masked=url_masked,
                now_s=self._clock(),
            )

    def record(self, update: IncidentUpdate, *, report: Report | None = None) -> bool:
        """Store an incident update, its report and their outbox rows in ONE transaction.

        Idempotent on ``(incident_id, version)``: returns False when it was already stored.
        Raises ``ConstraintViolation`` for an unregistered camera, ``StorageFull`` when the
        disk is full, ``StorageError`` otherwise; nothing is half-written.
        """
        what = f"recording incident {update.incident_id!r} version {update.version}"
        try:
            with self._write(what) as s:
                stored = repo.record_update(s, update=update, report=report, now_s=self._clock())
            if stored and report is not None:
                self._embed_new(update.incident_id)
            return stored
        except ConstraintViolation as exc:
            # Diagnose after the rollback: a concurrent writer, or a missing camera.
            def diagnose(s: Session) -> str | None:
                if repo.update_exists(s, incident_id=update.incident_id, version=update.version):
                    return "duplicate"
                if not repo.camera_exists(s, camera_id=update.camera_id):
                    return "camera"
                return None

            cause = self._read(what, diagnose)
            if cause == "duplicate":
                return False
            if cause == "camera":
                raise ConstraintViolation(
                    f"{what}: camera {update.camera_id!r} is not registered in "
                    f"{self.url_masked} (Store.upsert_camera must run first)"
                ) from exc
            raise

    def add_report(self, report: Report, *, dedupe: bool = False) -> int:
        """Store a later report of an incident and its outbox row; returns the report's seq.

        With ``dedupe`` the same report stored before is not stored twice (journal replay).
        """
        what = f"adding report for incident {report.incident_id!r}"
        with self._write(what) as s:
            seq = repo.add_report(s, report=report, now_s=self._clock(), dedupe=dedupe)
        if seq is None:
            raise ConstraintViolation(f"{what}: no such incident in {self.url_masked}")
        self._embed_new(report.incident_id)
        return seq

    def _embed_new(self, incident_id: str) -> None:
        """Embed the incident's reports that have no embedding yet; a failure is logged only
        (``vigil db backfill-embeddings`` catches up later), the report stays stored."""
        if self.embedder is None:
            return
        try:
            self.backfill_embeddings(incident_id=incident_id)
        except Exception as exc:  # the report is stored; its embedding can wait
            log.warning("embedding the reports of incident %r failed: %s", incident_id, exc)

    def backfill_embeddings(
        self,
        embedder: Embedder | None = None,
        *,
        batch_size: int = 64,
        incident_id: str | None = None,
    ) -> int:
        """Embed every report without an embedding (of ``incident_id``, if given), in
        batches; returns how many were embedded. Uses the store's embedder by default."""
        emb = embedder or self.embedder
        if emb is None:
            raise ValueError("backfilling embeddings needs an embedder")
        try:
            return backfill_embeddings(
                self.engine,
                emb,
                batch_size=batch_size,
                incident_id=incident_id,
                read_engine=self._read_engine,
                clock=self._clock,
            )
        except SQLAlchemyError as exc:
            raise self._error("embedding reports", exc) from exc

    def add_media(self, ref: MediaRef) -> bool:
        """Record a saved keyframe or clip; False if that path is already recorded."""
        what = f"recording media {ref.path!r} of incident {ref.incident_id!r}"
        try:
            with self._write(what) as s:
                return repo.add_media(s, ref=ref, now_s=self._clock())
        except ConstraintViolation as exc:
            if self.get_incident(ref.incident_id) is None:
                raise ConstraintViolation(f"{what}: no such incident in {self.url_masked}") from exc
            raise

    def add_feedback(
        self,
        *,
        incident_id: str,
        action: str,
        operator: str | None = None,
        note: str | None = None,
    ) -> str:
        """Record an operator action (acknowledge, resolve, false_alarm, reopen, comment);
        returns the incident's new status."""
        what = f"adding feedback {action!r} to incident {incident_id!r}"
        with self._write(what) as s:
            status = repo.add_feedback(
                s,
                incident_id=incident_id,
                action=action,
                operator=operator,
                note=note,
                ts_s=self._clock(),
            )
        if status is None:
            raise ConstraintViolation(f"{what}: no such incident in {self.url_masked}")
        return status

    def interrupted_closes(self, reason: str = "interrupted") -> list[IncidentUpdate]:
        """Close updates for the incidents an earlier process left open (not stored yet:
        the caller records them, through the journal)."""
        now = self._clock()
        return self._read(
            "listing incidents left open",
            lambda s: repo.interrupted_closes(s, now_s=now, reason=reason),
        )

    # --- reads ----------------------------------------------------------------------------

    def list_incidents(
        self,
        where: IncidentFilter | None = None,
        *,
        limit: int = 100,
        offset: int = 0,
        **criteria: Any,
    ) -> list[IncidentRecord]:
        """Incidents matching ``where`` (or the same fields as keywords), newest first."""
        flt = _incident_filter(where, criteria)
        return self._read(
            "listing incidents",
            lambda s: repo.list_incidents(s, flt, limit=limit, offset=offset),
        )

    def count_incidents(self, where: IncidentFilter | None = None, **criteria: Any) -> int:
        """How many incidents match (for paging)."""
        flt = _incident_filter(where, criteria)
        return self._read("counting incidents", lambda s: repo.count_incidents(s, flt))

    def get_incident(self, incident_id: str) -> IncidentDetail | None:
        """One incident with timeline, reports (newest last), media and feedback."""
        return self._read(
            f"reading incident {incident_id!r}",
            lambda s: repo.get_incident(s, incident_id=incident_id),
        )

    def resolve_incident_id(self, prefix: str) -> str | None:
        """The full id of the one incident whose id starts with ``prefix`` (None: no match).

        Raises ``AmbiguousIncidentId`` (listing candidates) when several match.
        """
        if not prefix:
            raise ValueError("incident id prefix must not be empty")
        ids = self._read(
            f"looking up incident {prefix!r}",
            lambda s: repo.find_incident_ids(s, prefix=prefix, limit=20),
        )
        if len(ids) > 1:
            raise AmbiguousIncidentId(prefix, ids)
        return ids[0] if ids else None

    def search_reports(
        self,
        query: str,
        *,
        mode: Mode = "text",
        where: IncidentFilter | None = None,
        limit: int = 20,
        embedder: Embedder | None = None,
    ) -> list[SearchHit]:
        """Incidents whose reports match ``query`` (``storage.search``), best first."""
        emb = embedder or self.embedder
        index = None if emb is None else self.vectors.get(emb.name, emb.dim)
        return self._read(
            f"searching reports ({mode})",
            lambda s: search_reports(
                s, query, mode=mode, flt=where, limit=limit, embedder=emb, index=index
            ),
        )

    def warm_search_index(self, embedder: Embedder) -> int:
        """Bring ``embedder``'s in-memory vectors in step (the first search is then fast)."""
        index = self.vectors.get(embedder.name, embedder.dim)
        self._read("loading the search vectors", index.refresh)
        return len(index)

    # --- outbox (publisher) ---------------------------------------------------------------

    def pending_outbox(self, *, limit: int, after_id: int = 0) -> list[OutboxMessage]:
        """Unsent outbox rows after ``after_id``, oldest first."""
        return self._read(
            "reading the outbox",
            lambda s: repo.pending_outbox(s, limit=limit, after_id=after_id),
        )

    def mark_sent(self, ids: Sequence[int]) -> None:
        """Mark outbox rows delivered."""
        if ids:
            with self._write("marking outbox rows sent") as s:
                repo.mark_outbox_sent(s, ids=ids, ts_s=self._clock())

    def mark_failed(self, ids: Sequence[int], error: str) -> None:
        """Count a failed delivery attempt of outbox rows."""
        if ids:
            with self._write("marking outbox rows failed") as s:
                repo.mark_outbox_failed(s, ids=ids, error=error)

    def last_outbox_id(self) -> int:
        """The id of the newest outbox row (0 when empty)."""
        return self._read("reading the outbox", repo.last_outbox_id)

    def outbox_backlog(self) -> int:
        """Outbox rows waiting to be sent."""
        return self._read("counting the outbox", repo.outbox_backlog)

    def outbox_oldest_unsent_ts(self) -> float | None:
        """When the oldest unsent outbox row was written (None when nothing waits)."""
        return self._read("reading the outbox", repo_outbox.oldest_unsent_ts)

    def prune_outbox(self, *, keep_s: float) -> int:
        """Delete outbox rows sent more than ``keep_s`` seconds ago; returns how many.

        Live-feed events older than ``keep_s`` go too (a client resumes only recent ones).
        """
        from storage.repo_live import prune_live_events

        cutoff = self._clock() - keep_s
        with self._write("pruning the outbox") as s:
            prune_live_events(s, before_s=cutoff)
            return repo.prune_outbox(s, sent_before_s=cutoff)

    # --- media (retention) ----------------------------------------------------------------

    def media_for_retention(self) -> list[StoredMedia]:
        """All media rows oldest first, flagged when their incident is open."""
        return self._read("listing media", repo.media_for_retention)

    def delete_media_rows(self, ids: Sequence[int]) -> None:
        """Forget media rows whose files were deleted."""
        if ids:
            with self._write("deleting media rows") as s:
                repo.delete_media_rows(s, ids=ids)

    def now_s(self) -> float:
        """The store's clock (Unix seconds)."""
        return self._clock()
