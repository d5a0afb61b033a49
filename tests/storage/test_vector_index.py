"""Semantic search through the in-memory vector index: the same answers as reading every
vector per query, kept in step with new, backfilled and deleted reports; SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

import pytest
from storage_workload import TinyEmbedder, make_report, make_update

from storage.records import IncidentFilter
from storage.search import search_reports
from storage.store import Store

T0 = 1_790_000_000.0
WORDS = ["ladder", "forklift", "pallet", "smoke", "flames", "fence", "gate", "floor", "stairs"]
KINDS = ["fall", "fire", "intrusion"]
QUERIES = ["ladder floor", "forklift flames", "fence gate intrusion", "stairs", "pallet smoke"]
FILTERS = [
    IncidentFilter(),
    IncidentFilter(camera="cam-b"),
    IncidentFilter(event_type="fire"),
    IncidentFilter(status="open"),
    IncidentFilter(since_ts_s=T0 + 200, until_ts_s=T0 + 700),
    IncidentFilter(camera="cam-a", event_type="fall", status="closed"),
    IncidentFilter(camera="nowhere"),
]


def _add(store: Store, i: int, *, closed: bool | None = None) -> None:
    camera = ("cam-a", "cam-b")[i % 2]
    kind = KINDS[i % 3]
    words = " ".join(WORDS[(i * k) % len(WORDS)] for k in (1, 2, 5))
    report = replace(make_report(f"inc-{i}"), title=f"{kind} {i}", summary=f"A {kind}: {words}.")
    update = make_update(
        f"inc-{i}",
        camera_id=camera,
        event_type=kind,
        opened_ts_s=T0 + 10 * i,
        closed=(i % 4 != 0) if closed is None else closed,
    )
    store.record(update, report=report)


@pytest.fixture
def indexed(store: Store) -> Store:
    """80 incidents over two cameras, three event types, open and closed, all embedded."""
    for i in range(80):
        _add(store, i)
    store.embedder = TinyEmbedder()
    store.backfill_embeddings()
    return store


def _scan(store: Store, query: str, flt: IncidentFilter, limit: int) -> list[tuple[str, float]]:
    hits = search_reports(
        store.engine, query, mode="semantic", flt=flt, limit=limit, embedder=store.embedder
    )
    return [(h.incident_id, round(h.score, 5)) for h in hits]


def _indexed(store: Store, query: str, flt: IncidentFilter, limit: int) -> list[tuple[str, float]]:
    hits = store.search_reports(query, mode="semantic", where=flt, limit=limit)
    return [(h.incident_id, round(h.score, 5)) for h in hits]


def test_the_index_answers_as_the_scan_does(indexed: Store) -> None:
    for flt in FILTERS:
        for query in QUERIES:
            for limit in (1, 5, 30):
                got = _indexed(indexed, query, flt, limit)
                assert got == _scan(indexed, query, flt, limit), (flt, query, limit)
    index = indexed.vectors.get("tiny-hash", 64)
    assert len(index) == 80 and index.reloads == 1  # loaded once, then only checked


def test_status_is_read_from_the_database_not_the_index(indexed: Store) -> None:
    flt = IncidentFilter(status="open")
    before = {i for i, _ in _indexed(indexed, "ladder floor", flt, 100)}
    assert before == {f"inc-{i}" for i in range(0, 80, 4)}
    indexed.record(make_update("inc-0", 2, opened_ts_s=T0, closed=True))  # closes inc-0
    after = {i for i, _ in _indexed(indexed, "ladder floor", flt, 100)}
    assert after == before - {"inc-0"}


def test_a_rare_filter_widens_the_candidates_until_it_fills_the_page(indexed: Store) -> None:
    # only every 4th incident is open: the best 64 candidates hold too few of them
    flt = IncidentFilter(status="open")
    hits = _indexed(indexed, "forklift flames", flt, 20)
    assert len(hits) == 20 and hits == _scan(indexed, "forklift flames", flt, 20)


def test_new_backfilled_and_deleted_reports_are_followed(indexed: Store) -> None:
    index = indexed.vectors.get("tiny-hash", 64)
    assert _indexed(indexed, "stairs", IncidentFilter(), 3)
    _add(indexed, 80)  # embedded at once by the store's embedder
    assert len(indexed.vectors.get("tiny-hash", 64)) == 80  # not yet searched
    hits = _indexed(indexed, "A fall: ladder forklift", IncidentFilter(camera="cam-a"), 100)
    assert "inc-80" in {i for i, _ in hits}
    assert len(index) == 81 and index.reloads == 1  # appended, not reloaded
    indexed.embedder = None
    _add(indexed, 81)  # written without an embedding, backfilled later
    indexed.embedder = TinyEmbedder()
    indexed.backfill_embeddings()
    assert "inc-81" in {i for i, _ in _indexed(indexed, "ladder", IncidentFilter(), 100)}
    with indexed.engine.begin() as conn:  # retention deletes incidents with their reports
        conn.exec_driver_sql("DELETE FROM incidents WHERE id IN ('inc-1', 'inc-2')")
    hits = _indexed(indexed, "ladder floor", IncidentFilter(), 100)
    assert not {"inc-1", "inc-2"} & {i for i, _ in hits}
    assert len(index) == 80 and index.reloads == 2
    assert hits == _scan(indexed, "ladder floor", IncidentFilter(), 100)


def test_warming_loads_the_vectors_before_the_first_search(indexed: Store) -> None:
    assert indexed.embedder is not None
    assert indexed.warm_search_index(indexed.embedder) == 80
    assert indexed.vectors.get("tiny-hash", 64).reloads == 1
