"""An in-memory copy of one embedder's report vectors, for semantic search at scale.

Reading every candidate vector from the database per query costs seconds at 200,000 reports
(and holds them all in memory for the query anyway). ``VectorIndex`` keeps the vectors as one
float32 matrix with the columns a search filters on that never change once a report exists
(camera, event type, opening time), scores the masked rows with one matrix product and hands
back the best report ids; the caller then reads just those rows, with every filter (the
incident's status changes, so it is checked there, as is whether the report still exists).

It stays in step with ``report_embeddings`` by the embeddings' count and newest
``created_ts_s`` per model: new rows (a window of ``LAG_S`` before the newest seen, so a
transaction that committed late is not missed) are appended; rows gone (retention) or a count
that still disagrees after appending mean a full reload. A search sees a consistent snapshot:
a refresh builds a new one and swaps it in under a lock.

Memory: ``dim`` × 4 bytes per report (1.5 KiB for all-MiniLM-L6-v2), plus 24 bytes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from storage.models import Incident, ReportEmbeddingRow, ReportRow
from storage.records import IncidentFilter

log = logging.getLogger(__name__)

#: Seconds before the newest embedding seen that a refresh reads again.
LAG_S = 120.0
_CHUNK = 50_000


@dataclass(frozen=True)
class _Columns:
    """Rows of the index: report ids, vectors and the fixed filter columns."""

    ids: npt.NDArray[np.int64]
    vectors: npt.NDArray[np.float32]
    camera: npt.NDArray[np.int32]
    event: npt.NDArray[np.int32]
    opened: npt.NDArray[np.float64]


@dataclass(frozen=True)
class _Snapshot:
    """The index's arrays at one moment (never changed in place)."""

    ids: npt.NDArray[np.int64]
    vectors: npt.NDArray[np.float32]
    camera: npt.NDArray[np.int32]
    event: npt.NDArray[np.int32]
    opened: npt.NDArray[np.float64]
    cameras: dict[str, int]
    events: dict[str, int]
    newest: float

    @classmethod
    def empty(cls, dim: int) -> _Snapshot:
        return cls(
            np.zeros(0, np.int64), np.zeros((0, dim), np.float32), np.zeros(0, np.int32),
            np.zeros(0, np.int32), np.zeros(0, np.float64), {}, {}, float("-inf"),
        )  # fmt: skip


class VectorIndex:
    """The vectors of one embedding model (``model``, ``dim``) in memory, kept in step."""

    def __init__(self, model: str, dim: int) -> None:
        self.model = model
        self.dim = dim
        self._snap = _Snapshot.empty(dim)
        self._lock = threading.Lock()
        self.reloads = 0

    def __len__(self) -> int:
        return int(self._snap.ids.size)

    def refresh(self, session: Session) -> None:
        """Bring the index in step with the table (cheap when nothing changed)."""
        with self._lock:
            count, newest = session.execute(
                select(func.count(), func.max(ReportEmbeddingRow.created_ts_s)).where(
                    ReportEmbeddingRow.model == self.model, ReportEmbeddingRow.dim == self.dim
                )
            ).one()
            snap = self._snap
            count = int(count)
            if count == snap.ids.size and (newest is None or float(newest) == snap.newest):
                return
            if count > snap.ids.size and snap.ids.size:
                snap = self._append(session, snap)
            if count != snap.ids.size:
                snap = self._load(session, None, _Snapshot.empty(self.dim))
                self.reloads += 1
                log.info("vector index %s: loaded %d vectors", self.model, snap.ids.size)
            self._snap = snap

    def _append(self, session: Session, snap: _Snapshot) -> _Snapshot:
        return self._load(session, snap.newest - LAG_S, snap)

    def _load(self, session: Session, since: float | None, snap: _Snapshot) -> _Snapshot:
        """``snap`` plus the rows created at or after ``since`` (all rows when None)."""
        cols = (
            ReportEmbeddingRow.report_id, ReportEmbeddingRow.vector,
            ReportEmbeddingRow.created_ts_s, Incident.camera_id, Incident.event_type,
            Incident.opened_ts_s,
        )  # fmt: skip
        stmt = (
            select(*cols)
            .join(ReportRow, ReportRow.id == ReportEmbeddingRow.report_id)
            .join(Incident, Incident.id == ReportRow.incident_id)
            .where(and_(ReportEmbeddingRow.model == self.model, ReportEmbeddingRow.dim == self.dim))
        )
        if since is not None:
            stmt = stmt.where(ReportEmbeddingRow.created_ts_s >= since)
        known = snap.ids
        cameras, events = dict(snap.cameras), dict(snap.events)
        parts = [_Columns(snap.ids, snap.vectors, snap.camera, snap.event, snap.opened)]
        newest = snap.newest
        for rows in session.execute(stmt).yield_per(_CHUNK).partitions():
            ids = np.fromiter((r.report_id for r in rows), np.int64, len(rows))
            keep = ~np.isin(ids, known) if known.size else np.ones(ids.size, bool)
            fresh = [r for r, k in zip(rows, keep, strict=True) if k]
            if fresh:
                newest = max(newest, max(float(r.created_ts_s) for r in fresh))
                parts.append(_columns(fresh, self.dim, cameras, events))
        return _Snapshot(
            ids=np.concatenate([p.ids for p in parts]),
            vectors=np.concatenate([p.vectors for p in parts]),
            camera=np.concatenate([p.camera for p in parts]),
            event=np.concatenate([p.event for p in parts]),
            opened=np.concatenate([p.opened for p in parts]),
            cameras=cameras,
            events=events,
            newest=newest,
        )

    def top(
        self, query: npt.NDArray[np.float32], flt: IncidentFilter, k: int
    ) -> list[tuple[int, float]]:
        """The ``k`` best (report id, cosine) among rows the fixed filters keep, best first
        (ties: newest report first). Status is not checked here."""
        snap = self._snap
        mask = _mask(snap, flt)
        if mask is not None and not mask.any():
            return []
        rows = np.arange(snap.ids.size) if mask is None else np.flatnonzero(mask)
        if rows.size == 0:
            return []
        scores = snap.vectors[rows] @ query if mask is not None else snap.vectors @ query
        part = np.argpartition(-scores, k - 1)[:k] if k < rows.size else np.arange(rows.size)
        ids = snap.ids[rows[part]]
        best = part[np.lexsort((-ids, -scores[part]))]
        return [(int(snap.ids[rows[i]]), float(scores[i])) for i in best]


def _columns(
    rows: Sequence[Any], dim: int, cameras: dict[str, int], events: dict[str, int]
) -> _Columns:
    """The arrays of ``rows``; new camera and event names get codes in the dicts."""
    vec = np.frombuffer(b"".join(r.vector for r in rows), "<f4").reshape(len(rows), dim)
    return _Columns(
        np.array([r.report_id for r in rows], np.int64),
        vec.astype(np.float32),
        np.array([cameras.setdefault(r.camera_id, len(cameras)) for r in rows], np.int32),
        np.array([events.setdefault(r.event_type, len(events)) for r in rows], np.int32),
        np.array([r.opened_ts_s for r in rows], np.float64),
    )


def _mask(snap: _Snapshot, flt: IncidentFilter) -> npt.NDArray[np.bool_] | None:
    """Rows the camera, event type and time filters keep (None: every row)."""
    mask: npt.NDArray[np.bool_] | None = None

    def both(m: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        return m if mask is None else mask & m

    if flt.camera is not None:
        code = snap.cameras.get(flt.camera, -1)
        mask = both(snap.camera == code)
    if flt.event_type is not None:
        mask = both(snap.event == snap.events.get(flt.event_type, -1))
    if flt.since_ts_s is not None:
        mask = both(snap.opened >= flt.since_ts_s)
    if flt.until_ts_s is not None:
        mask = both(snap.opened < flt.until_ts_s)
    return mask


class VectorIndexes:
    """One ``VectorIndex`` per embedding model (name, dim), made on first use."""

    def __init__(self) -> None:
        self._by_model: dict[tuple[str, int], VectorIndex] = {}
        self._lock = threading.Lock()

    def get(self, model: str, dim: int) -> VectorIndex:
        """The index of ``model`` with ``dim`` values per vector."""
        with self._lock:
            found = self._by_model.get((model, dim))
            if found is None:
                found = self._by_model[(model, dim)] = VectorIndex(model, dim)
            return found
