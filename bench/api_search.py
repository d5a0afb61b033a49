"""History search figures of ``bench/api.py``: ``GET /api/search`` over the filled reports.

What is seeded (and why it is synthetic): every report of the fill gets a synthetic text (event
phrase, place, subject and eight words of a 5,000-word Zipf-distributed made-up vocabulary), so
the full-text index has a realistic spread of common and rare words; and one synthetic unit
vector (all-MiniLM-L6-v2's 384 values, stored as that model's) written straight into
``report_embeddings``: embedding 1,000,000 reports with the real model takes hours on a CPU.
Each vector is its event's centroid (the real model's embedding of a phrase describing the
event) plus gaussian noise, normalized, so the ranking is plausible. Queries are embedded
with the real model, as the API does.

Figures (p50/p95, ms), each beside a baseline measured in the same run:

* text: the API (``mode=text``, 20 hits: auth, the FTS query with ranking and snippets, JSON)
  for common, medium and rare words, beside the raw FTS query on a connection (match, rank,
  LIMIT 80, no snippets): the database's floor;
* semantic: the API (``mode=semantic``, 20 hits: embeds the query, reads every candidate
  vector from the database, cosine in numpy) beside a brute numpy cosine over the same
  vectors already in memory, plus the query's embedding time alone.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from storage.operator_store import OperatorStore
from storage.search import MINILM_NAME, PG_DOCUMENT, MiniLMEmbedder, fts5_query, to_bytes

DIM = 384
LIMIT = 20
FETCH = max(LIMIT * 4, 50)  # what storage.search.text_search reads before one hit per incident

EVENT_PHRASES = {
    "fall": "a person fell down and is lying on the floor",
    "fire": "open flames and fire are burning",
    "smoke": "thick smoke is rising and filling the room",
    "intrusion": "someone climbed the fence and entered the restricted area",
}
PLACES = ["dock", "gate", "aisle", "yard", "corridor", "stairwell", "office", "parking lot",
          "loading bay", "warehouse", "canteen", "roof"]  # fmt: skip
SUBJECTS = ["worker", "visitor", "driver", "forklift", "pallet", "cart", "contractor", "guard"]
SEMANTIC_QUERIES = [
    "person lying on the ground", "someone collapsed", "flames near the machines",
    "burning smell and fire", "grey smoke in the hall", "smoke detector area hazy",
    "trespasser over the fence", "unauthorized person at night", "worker slipped on the stairs",
    "vehicle on fire in the yard",
]  # fmt: skip


def _vocabulary(n: int = 5000, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    consonants, vowels = "bcdfghklmnprstvz", "aeiou"
    words: set[str] = set()
    while len(words) < n:
        syllables = rng.randint(2, 4)
        words.add("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(syllables)))
    return sorted(words)


VOCAB = _vocabulary()
_ZIPF = np.cumsum(1.0 / np.arange(1, len(VOCAB) + 1))
_ZIPF /= _ZIPF[-1]


def report_texts(event: str, rng: random.Random) -> tuple[str, str, str]:
    """A synthetic (title, summary, action) of one report of ``event``."""
    place, subject = rng.choice(PLACES), rng.choice(SUBJECTS)
    picks = np.searchsorted(_ZIPF, [rng.random() for _ in range(8)])
    words = " ".join(VOCAB[int(i)] for i in picks)
    title = f"{event.capitalize()} near the {place}"
    summary = f"Camera saw that {EVENT_PHRASES[event]} by the {place}, {subject} {words}."
    return title, summary, f"Send the {subject} team to the {place}."


def text_queries(rng: random.Random, n: int) -> list[tuple[str, str]]:
    """``n`` (class, query) pairs: common (one frequent word), medium (place and event),
    rare (a word of the vocabulary's tail)."""
    out: list[tuple[str, str]] = []
    for i in range(n):
        kind = ("common", "medium", "rare")[i % 3]
        if kind == "common":
            q = rng.choice(["camera", "team", "floor", "smoke"])
        elif kind == "medium":
            q = f"{rng.choice(list(EVENT_PHRASES))} {rng.choice(PLACES).split()[0]}"
        else:
            q = VOCAB[rng.randrange(len(VOCAB) // 2, len(VOCAB))]
        out.append((kind, q))
    return out


# --- vectors --------------------------------------------------------------------------------


def _report_events(ops: OperatorStore) -> tuple[np.ndarray, list[str]]:
    sql = text("SELECT r.id, i.event_type FROM reports r JOIN incidents i ON i.id = r.incident_id")
    with ops.store.engine.connect() as conn:
        rows = conn.execute(sql).all()
    return np.array([r[0] for r in rows], dtype=np.int64), [r[1] for r in rows]


def seed_vectors(ops: OperatorStore, embedder: MiniLMEmbedder, seed: int = 5) -> np.ndarray:
    """One synthetic unit vector per report, written as MiniLM's; returns them (row order
    of the report ids) for the numpy baseline."""
    events = list(EVENT_PHRASES)
    centroids = embedder.embed([EVENT_PHRASES[e] for e in events])
    ids, kinds = _report_events(ops)
    which = np.array([events.index(k) for k in kinds])
    rng = np.random.default_rng(seed)
    vecs = centroids[which] + rng.normal(0.0, 0.05, (len(ids), DIM)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    rows = ((int(i), MINILM_NAME, DIM, to_bytes(v), 0.0) for i, v in zip(ids, vecs, strict=True))
    cols = "report_embeddings (report_id, model, dim, vector, created_ts_s)"
    raw = ops.store.engine.raw_connection()
    try:
        cur = raw.cursor()
        if ops.store.dialect == "postgresql":
            cur.execute("SET LOCAL statement_timeout = 0")
            with cur.copy(f"COPY {cols} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            raw.commit()
            cur.execute("ANALYZE report_embeddings")
        else:
            cur.execute("BEGIN")
            while batch := [r for _, r in zip(range(20_000), rows, strict=False)]:
                cur.executemany(f"INSERT INTO {cols} VALUES (?, ?, ?, ?, ?)", batch)
            cur.execute("COMMIT")
        raw.commit()
        cur.close()
    finally:
        raw.close()
    return vecs.astype(np.float32)


# --- timing ---------------------------------------------------------------------------------


def _ms(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1000, out


def _raw_fts(ops: OperatorStore) -> Callable[[Any, str], list[Any]]:
    if ops.store.dialect == "sqlite":
        sql = text(
            "SELECT r.id, r.incident_id, bm25(reports_fts, 3.0, 1.0, 1.0) AS rank "
            "FROM reports_fts JOIN reports r ON r.id = reports_fts.rowid "
            "WHERE reports_fts MATCH :q ORDER BY rank LIMIT :n"
        )
        return lambda conn, q: conn.execute(sql, {"q": fts5_query(q), "n": FETCH}).all()
    doc = PG_DOCUMENT.replace("title", "r.title").replace("summary", "r.summary")
    doc = doc.replace("|| action", "|| r.action")
    sql = text(
        f"SELECT r.id, r.incident_id, ts_rank({doc}, q) AS rank FROM reports r, "
        f"websearch_to_tsquery('english', :q) q WHERE {doc} @@ q ORDER BY rank DESC LIMIT :n"
    )
    return lambda conn, q: conn.execute(sql, {"q": q, "n": FETCH}).all()


def time_text(
    client: Any, headers: dict[str, str], ops: OperatorStore, queries: list[tuple[str, str]]
) -> Iterator[tuple[str, str, float]]:
    """(class, who, ms) of each text query: ``api`` (``api-<status>`` when it failed, e.g. a
    503 from the statement timeout) and ``raw`` SQL."""
    for _, q in queries[:3]:  # warm up
        client.get("/api/search", params={"q": q, "mode": "text"}, headers=headers)
    for kind, q in queries:
        params = {"q": q, "mode": "text", "limit": LIMIT}
        ms, r = _ms(lambda p=params: client.get("/api/search", params=p, headers=headers))
        yield kind, "api" if r.status_code == 200 else f"api-{r.status_code}", ms
    raw = _raw_fts(ops)
    for kind, q in queries:
        with ops.store.engine.connect() as conn:
            t0 = time.perf_counter()
            try:
                raw(conn, q)
                who = "raw"
            except DBAPIError:  # PostgreSQL's statement timeout (the store's engine has one)
                who = "raw-failed"
            yield kind, who, (time.perf_counter() - t0) * 1000


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indexes of the ``k`` best scores, best first."""
    idx = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
    return idx[np.argsort(-scores[idx])]


def time_semantic(
    client: Any, headers: dict[str, str], embedder: MiniLMEmbedder, vecs: np.ndarray, reps: int
) -> dict[str, list[float]]:
    """ms of each semantic query: the API (``api-<status>``: failed ones), the embedding
    alone, numpy over ``vecs``."""
    lat: dict[str, list[float]] = {"api": [], "embed": [], "numpy": []}
    params = {"mode": "semantic", "limit": LIMIT}
    client.get("/api/search", params={**params, "q": "warm up"}, headers=headers)
    for i in range(reps):
        q = SEMANTIC_QUERIES[i % len(SEMANTIC_QUERIES)]
        p = {**params, "q": q}
        ms, r = _ms(lambda p=p: client.get("/api/search", params=p, headers=headers))
        if r.status_code == 200 and len(r.json()) == LIMIT:
            lat["api"].append(ms)
        else:  # e.g. 503: the database's statement timeout ended the query
            lat.setdefault(f"api-{r.status_code}", []).append(ms)
        ms_embed, qvec = _ms(lambda q=q: embedder.embed([q])[0])
        ms_cos, _ = _ms(lambda qvec=qvec: top_k(vecs @ qvec, FETCH))
        lat["embed"].append(ms_embed)
        lat["numpy"].append(ms_embed + ms_cos)
    return lat
