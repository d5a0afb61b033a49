"""History search over reports: full text, meaning (real all-MiniLM-L6-v2), hybrid, filters,
backfill; on SQLite and PostgreSQL. Report texts are the template backend's own."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select
from storage_workload import TinyEmbedder, make_update
from typer.testing import CliRunner

from reports.evidence import CameraInfo, build_evidence
from reports.template import template_report
from reports.types import Report
from storage.models import ReportEmbeddingRow
from storage.records import IncidentFilter
from storage.search import MiniLMEmbedder, fts5_query, search_reports
from storage.store import Store

CAMERAS = {
    "dock-1": ("Dock 1", "loading dock, north wall"),
    "aisle-3": ("Aisle 3", "warehouse aisle 3"),
    "lobby": ("Lobby", "main entrance"),
}
T0 = 1_790_000_000.0


@pytest.fixture(scope="session")
def minilm() -> MiniLMEmbedder:
    """The real model, loaded once for the session."""
    emb = MiniLMEmbedder()
    emb.embed(["warm up"])
    return emb


def _template(incident_id: str, camera: str, event_type: str, opened: float) -> Report:
    update = make_update(
        incident_id, camera_id=camera, event_type=event_type, opened_ts_s=opened, closed=True
    )
    name, location = CAMERAS[camera]
    evidence = build_evidence(
        update,
        camera=CameraInfo(camera_id=camera, name=name, location=location),
        site="Harbour depot",
        timezone="Europe/Berlin",
    )
    return template_report(evidence)


def _add(store: Store, incident_id: str, camera: str, event_type: str, opened: float,
         report: Report | None = None) -> None:  # fmt: skip
    update = make_update(
        incident_id, camera_id=camera, event_type=event_type, opened_ts_s=opened, closed=True
    )
    store.record(update, report=report or _template(incident_id, camera, event_type, opened))


@pytest.fixture
def history(store: Store) -> Store:
    """Falls and fires at three cameras; the dock-1 fall has an LLM-style report."""
    for cam, (name, loc) in CAMERAS.items():
        store.upsert_camera(camera_id=cam, name=name, location=loc, url_masked=f"rtsp://{cam}/")
    llm = replace(
        _template("fall-dock", "dock-1", "fall", T0),
        title="Person down at the loading dock",
        summary="A person fell and is lying on the floor near the loading dock. They have not "
        "moved for 40 s after the fall.",
        backend="llm",
        model="tiny-llm",
    )
    _add(store, "fall-dock", "dock-1", "fall", T0, llm)
    _add(store, "fire-dock", "dock-1", "fire", T0 + 100)
    _add(store, "fall-aisle", "aisle-3", "fall", T0 + 200)
    _add(store, "fall-lobby", "lobby", "fall", T0 + 300)
    _add(store, "fire-lobby", "lobby", "fire", T0 + 400)
    _add(store, "intrusion-aisle", "aisle-3", "intrusion", T0 + 500)
    return store


def test_text_search_ranks_and_filters(history: Store) -> None:
    hits = history.search_reports("fire brigade", mode="text")
    assert {h.incident_id for h in hits} == {"fire-dock", "fire-lobby"}
    assert all(h.score > 0 and h.event_type == "fire" for h in hits)
    hits = history.search_reports("fire", where=IncidentFilter(camera="dock-1"))
    assert [h.incident_id for h in hits] == ["fire-dock"]
    assert "[fire]" in hits[0].snippet.lower()  # the matched word highlighted
    falls = history.search_reports("fall", where=IncidentFilter(event_type="fall"))
    assert {h.incident_id for h in falls} == {"fall-dock", "fall-aisle", "fall-lobby"}
    recent = history.search_reports("fall", where=IncidentFilter(since_ts_s=T0 + 150))
    assert {h.incident_id for h in recent} == {"fall-aisle", "fall-lobby"}
    assert history.search_reports("fall", limit=1)[0].incident_id in {h.incident_id for h in falls}


def test_text_search_words_stem_and_an_incident_comes_once(history: Store) -> None:
    store = history
    store.add_report(_template("fall-lobby", "lobby", "fall", T0 + 300))  # a second report
    hits = store.search_reports("falling lobby")  # stems to fall, matches "A fall ... Lobby"
    assert [h.incident_id for h in hits] == ["fall-lobby"]


@pytest.mark.parametrize(
    "query", ['"fire" OR (', "fire)", "NEAR(fire", "title:fire*", "-", "''", "   ", "AND OR"]
)
def test_query_syntax_of_users_never_raises(history: Store, query: str) -> None:
    hits = history.search_reports(query, mode="text")
    assert isinstance(hits, list)
    if re.findall(r"\w+", query) == ["fire"]:  # the words alone are searched
        assert {h.incident_id for h in hits} >= {"fire-dock", "fire-lobby"}


def test_fts5_query_quotes_every_word() -> None:
    assert fts5_query('"fire" OR (') == '"fire"'
    assert fts5_query("fire OR smoke dock") == '"fire" OR "smoke" "dock"'
    assert fts5_query("NEAR(a b)") == '"NEAR" "a" "b"'


def test_semantic_search_with_minilm_finds_the_fall_not_the_fire(
    history: Store, minilm: MiniLMEmbedder
) -> None:
    assert history.backfill_embeddings(minilm) == 6
    hits = history.search_reports(
        "person lying on the floor near the dock",
        mode="semantic",
        where=IncidentFilter(camera="dock-1"),
        embedder=minilm,
    )
    assert [h.incident_id for h in hits] == ["fall-dock", "fire-dock"]
    assert hits[0].score > hits[1].score
    everywhere = history.search_reports(
        "someone collapsed on the ground", mode="semantic", embedder=minilm, limit=3
    )
    assert {h.event_type for h in everywhere} == {"fall"}


def test_embeddings_are_stored_normalized_float32(history: Store, minilm: MiniLMEmbedder) -> None:
    history.backfill_embeddings(minilm, batch_size=4)
    with history.engine.connect() as conn:
        rows = conn.execute(select(ReportEmbeddingRow)).all()
    assert len(rows) == 6
    for row in rows:
        assert row.model == "all-MiniLM-L6-v2" and row.dim == 384 and len(row.vector) == 384 * 4
        vec = np.frombuffer(row.vector, dtype="<f4")
        assert abs(float(np.linalg.norm(vec)) - 1.0) < 1e-4


def test_hybrid_fuses_text_and_meaning(history: Store, minilm: MiniLMEmbedder) -> None:
    history.backfill_embeddings(minilm)
    hits = history.search_reports("collapsed worker fall", mode="hybrid", embedder=minilm, limit=4)
    assert hits[0].event_type == "fall"
    assert len({h.incident_id for h in hits}) == len(hits)
    assert all(0 < h.score <= 2 / 61 for h in hits)
    # a word the text index does not have: meaning alone still answers
    only_meaning = history.search_reports("blaze", mode="hybrid", embedder=minilm, limit=2)
    assert only_meaning and only_meaning[0].event_type == "fire"


def test_semantic_needs_an_embedder_and_a_known_mode(history: Store) -> None:
    with pytest.raises(ValueError, match="needs an embedder"):
        history.search_reports("fall", mode="semantic")
    with pytest.raises(ValueError, match="mode"):
        search_reports(history.engine, "fall", mode="fuzzy")  # type: ignore[arg-type]


def test_backfill_is_batched_and_idempotent_and_new_reports_are_embedded(
    history: Store,
) -> None:
    tiny = TinyEmbedder()
    assert history.backfill_embeddings(tiny, batch_size=4) == 6
    assert tiny.calls == 2
    assert history.backfill_embeddings(tiny) == 0
    history.embedder = tiny  # configured: reports written from now on are embedded at once
    _add(history, "smoke-dock", "dock-1", "fall", T0 + 900)
    history.add_report(_template("fire-dock", "dock-1", "fire", T0 + 100))
    with history.engine.connect() as conn:
        n = conn.scalar(select(func.count()).select_from(ReportEmbeddingRow))
    assert n == 8
    assert history.backfill_embeddings(tiny) == 0
    hits = history.search_reports("fire brigade dock", mode="semantic", limit=2)
    assert hits[0].incident_id == "fire-dock"


def test_embeddings_go_with_their_report(history: Store) -> None:
    tiny = TinyEmbedder()
    history.backfill_embeddings(tiny)
    with history.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM incidents WHERE id = 'fire-dock'")
    with history.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ReportEmbeddingRow)) == 5
    assert "fire-dock" not in {h.incident_id for h in history.search_reports("fire")}


def test_cli_backfill_embeddings(
    history: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vigil import cli_db

    tiny = TinyEmbedder()
    monkeypatch.setattr(cli_db, "default_embedder", lambda: tiny)
    cfg = tmp_path / "vigil.yaml"
    cfg.write_text(
        f"storage:\n  database_url: '{history.config.database_url}'\n"
        f"  media_dir: '{tmp_path / 'media'}'\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    res = runner.invoke(cli_db.app, ["backfill-embeddings", "-c", str(cfg), "--batch-size", "2"])
    assert res.exit_code == 0, res.output
    assert "embedded 6 reports" in res.output and "tiny-hash" in res.output
    res = runner.invoke(cli_db.app, ["backfill-embeddings", "-c", str(cfg)])
    assert res.exit_code == 0 and "embedded 0 reports" in res.output
