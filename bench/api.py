"""Operator API benchmark: filtered history pages and live-feed fan-out.

For each database (SQLite file, PostgreSQL schema created and dropped here), after a bulk fill
of ``--incidents`` incidents with one report each (executemany / COPY):

1. p50/p95 of ``GET /api/incidents`` through FastAPI's TestClient with camera + type + time
   filters (bearer token, 50 a page): the first page and a deep page (a keyset cursor about
   80 % into the matches), beside the same query as raw SQL on a connection (no auth, no
   reports, no workflow look-ups): the database's floor;
2. SSE fan-out: ``--clients`` clients (in a child process) on ``/api/events`` of a real uvicorn
   server (``vigil.api.server.ApiServer`` on a free port) receive a burst of ``--burst``
   workflow notes; delivery latency p50/p95/max, beside one client alone on the same burst;
3. history search (``bench/api_search.py``): ``GET /api/search`` full text (common, medium
   and rare words) beside the raw FTS query, and semantic beside a brute numpy cosine over
   the same vectors in memory. Report texts are synthetic, and so are the report vectors
   (written directly: embedding a million reports with MiniLM takes hours); queries are
   embedded with the real model.

The reports of the fill have synthetic, varied texts (the full-text index needs them).
Ends with one line of ``key=value`` figures.

    python bench/api.py                                   # 1,000,000 incidents, both
    python bench/api.py --incidents 100000 --db sqlite
    python bench/api.py --incidents 200000 --parts search  # search figures only
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.api_search import (
    report_texts,
    seed_vectors,
    text_queries,
    time_semantic,
    time_text,
)
from storage.models import Incident, ReportRow
from storage.operator_store import OperatorStore
from storage.records import IncidentFilter
from storage.repo_browse import encode_cursor
from storage.repo_workflow import Action
from storage.settings import StorageConfig
from storage.store import Store

CAMERAS = [f"cam-{i:02d}" for i in range(20)]
EVENTS = ["fall", "fire", "smoke", "intrusion"]
T_END = 1_735_689_600.0  # 2025-01-01
SPAN_S = 365 * 86400.0
WINDOW_S = 90 * 86400.0
PAGE = 50


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of values (nan for none)."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


# --- fill ---------------------------------------------------------------------------------


def _incident_rows(count: int, seed: int) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...]]]:
    rng = random.Random(seed)
    words = random.Random(seed + 1)  # report texts: their own stream, incidents as before
    for i in range(count):
        opened = T_END - rng.random() * SPAN_S
        closed = opened + rng.uniform(2, 600)
        score = rng.uniform(0.5, 1.0)
        iid = f"h-{i:08d}-{rng.getrandbits(32):08x}"
        inc = {
            "id": iid,
            "camera_id": rng.choice(CAMERAS),
            "event_type": rng.choice(EVENTS),
            "status": "closed",
            "opened_ts_s": opened,
            "closed_ts_s": closed,
            "last_ts_s": closed,
            "score": score,
            "peak_score": score,
            "mean_score": score * 0.9,
            "zone": None,
            "onset_pts_s": 0.0,
            "close_reason": "score_below_threshold",
            "version": 2,
        }
        title, summary, action = report_texts(inc["event_type"], words)
        rep = {
            "incident_id": iid,
            "seq": 1,
            "incident_version": 1,
            "title": title,
            "summary": summary,
            "severity": rng.choice(["low", "medium", "high", "critical"]),
            "action": action,
            "backend": "template",
            "model": None,
            "latency_s": 0.0,
            "fallback_used": False,
            "fallback_reason": None,
            "created_ts_s": opened + 1,
        }
        yield (
            tuple(inc[c] for c in INCIDENT_COLS),
            tuple(rep[c] for c in REPORT_COLS),
        )


INCIDENT_COLS = [c.name for c in Incident.__table__.columns]
REPORT_COLS = [c.name for c in ReportRow.__table__.columns if c.name != "id"]


def fill(store: Store, count: int, seed: int = 7) -> float:
    """Bulk-insert ``count`` incidents and their reports; returns seconds taken."""
    t0 = time.perf_counter()
    inc_sql = f"incidents ({', '.join(INCIDENT_COLS)})"
    rep_sql = f"reports ({', '.join(REPORT_COLS)})"
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        if store.dialect == "postgresql":
            cur.execute("SET LOCAL statement_timeout = 0")  # the store's limit is for queries
            # the same seed twice: the reports of the incidents, without holding every row
            with cur.copy(f"COPY {inc_sql} FROM STDIN") as copy:
                for inc, _ in _incident_rows(count, seed):
                    copy.write_row(inc)
            with cur.copy(f"COPY {rep_sql} FROM STDIN") as copy:
                for _, rep in _incident_rows(count, seed):
                    copy.write_row(rep)
            raw.commit()
            cur.execute("SET LOCAL statement_timeout = 0")
            cur.execute("ANALYZE")
        else:
            inc_ins = f"INSERT INTO {inc_sql} VALUES ({', '.join('?' for _ in INCIDENT_COLS)})"
            rep_ins = f"INSERT INTO {rep_sql} VALUES ({', '.join('?' for _ in REPORT_COLS)})"
            cur.execute("BEGIN")
            rows_iter = _incident_rows(count, seed)
            while batch := [pair for _, pair in zip(range(50_000), rows_iter, strict=False)]:
                cur.executemany(inc_ins, [p[0] for p in batch])
                cur.executemany(rep_ins, [p[1] for p in batch])
            cur.execute("COMMIT")
            cur.execute("ANALYZE")
        raw.commit()
        cur.close()
    finally:
        raw.close()
    return time.perf_counter() - t0


# --- history list -------------------------------------------------------------------------

_RAW_SQL = (
    "SELECT i.*, c.name, w.state, w.disposition, w.owner FROM incidents i "
    "JOIN cameras c ON c.id = i.camera_id "
    "LEFT OUTER JOIN incident_workflow w ON w.incident_id = i.id "
    "WHERE i.camera_id = :cam AND i.event_type = :ev AND i.opened_ts_s >= :since "
    "AND i.opened_ts_s < :until {after}"
    "ORDER BY i.opened_ts_s DESC, i.id DESC LIMIT :limit"
)
_AFTER = "AND (i.opened_ts_s < :ts OR (i.opened_ts_s = :ts AND i.id < :id)) "


def cases(store: Store, n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` random filters, each with the keyset position ~80 % into its matches."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    count_sql = text(
        "SELECT count(*) FROM incidents WHERE camera_id = :cam AND event_type = :ev "
        "AND opened_ts_s >= :since AND opened_ts_s < :until"
    )
    pos_sql = text(
        "SELECT opened_ts_s, id FROM incidents WHERE camera_id = :cam AND event_type = :ev "
        "AND opened_ts_s >= :since AND opened_ts_s < :until "
        "ORDER BY opened_ts_s DESC, id DESC LIMIT 1 OFFSET :off"
    )
    per_pair = max(1, store.count_incidents(IncidentFilter())) / (len(CAMERAS) * len(EVENTS))
    window = min(SPAN_S * 0.9, max(WINDOW_S, SPAN_S * 4 * PAGE / per_pair))
    with store.engine.connect() as conn:
        for _ in range(50 * n):
            if len(out) == n:
                break
            since = T_END - rng.random() * (SPAN_S - window) - window
            p = {"cam": rng.choice(CAMERAS), "ev": rng.choice(EVENTS), "since": since,
                 "until": since + window}  # fmt: skip
            matches = int(conn.execute(count_sql, p).scalar() or 0)
            if matches <= 2 * PAGE:
                continue
            ts, iid = conn.execute(
                pos_sql, {**p, "off": min(int(matches * 0.8), matches - PAGE - 1)}
            ).one()
            out.append({**p, "ts": ts, "id": iid, "matches": matches})
    if len(out) < n:
        raise RuntimeError(f"too few incidents for {2 * PAGE}-row filters; use more --incidents")
    return out


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def time_api(
    client: Any, headers: dict[str, str], todo: list[dict[str, Any]]
) -> dict[str, list[float]]:
    """Latency (ms) of the first and the deep page through the API."""
    lat: dict[str, list[float]] = {"first": [], "deep": []}
    for c in todo:
        params = {"camera": c["cam"], "type": c["ev"], "since": _iso(c["since"]),
                  "until": _iso(c["until"]), "limit": PAGE}  # fmt: skip
        for kind, extra in (("first", {}), ("deep", {"cursor": encode_cursor(c["ts"], c["id"])})):
            t0 = time.perf_counter()
            r = client.get("/api/incidents", params={**params, **extra}, headers=headers)
            lat[kind].append((time.perf_counter() - t0) * 1000)
            if r.status_code != 200 or len(r.json()["items"]) != PAGE:
                raise RuntimeError(f"unexpected page: {r.status_code} {r.text[:200]}")
    return lat


def time_raw(store: Store, todo: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Latency (ms) of the same two pages as raw SQL."""
    first = text(_RAW_SQL.format(after=""))
    deep = text(_RAW_SQL.format(after=_AFTER))
    lat: dict[str, list[float]] = {"first": [], "deep": []}
    with store.engine.connect() as conn:
        for c in todo:
            for kind, stmt in (("first", first), ("deep", deep)):
                t0 = time.perf_counter()
                rows = conn.execute(stmt, {**c, "limit": PAGE + 1}).all()
                lat[kind].append((time.perf_counter() - t0) * 1000)
                assert len(rows) >= PAGE
    return lat


# --- live feed fan-out --------------------------------------------------------------------


async def _client(http: Any, url: str, token: str, expect: int, ready: Any) -> list[float]:
    lat: list[float] = []
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    async with http.stream("GET", f"{url}/api/events", headers=headers) as r:
        async for line in r.aiter_lines():
            if line.startswith(": connected"):
                ready()
            elif line.startswith("data: "):
                lat.append((time.time() - json.loads(line[6:])["ts_s"]) * 1000)
                if len(lat) >= expect:
                    break
    return lat


async def _clients(url: str, token: str, n: int, expect: int, timeout_s: float) -> list[float]:
    """Connect ``n`` clients, say ``ready`` on stdout, then collect ``expect`` events each."""
    import httpx

    connected = 0

    def ready() -> None:
        nonlocal connected
        connected += 1
        if connected == n:
            print("ready", flush=True)

    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), limits=limits) as http:
        tasks = [_client(http, url, token, expect, ready) for _ in range(n)]
        results = await asyncio.wait_for(asyncio.gather(*tasks), timeout_s)
    return [v for r in results for v in r]


def sse_worker(args: argparse.Namespace) -> int:
    """The child process of the fan-out: prints ``ready``, then the latencies as JSON."""
    lat = asyncio.run(_clients(args.url, args.token, args.clients, args.burst, 120.0))
    print(json.dumps(lat), flush=True)
    return 0


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fan_out(ops: OperatorStore, url: str, token: str, clients: int, burst: int) -> list[float]:
    """Delivery latencies (ms) of a burst of ``burst`` notes to ``clients`` live-feed clients."""
    cmd = [sys.executable, __file__, "--sse-worker", "--url", url, "--token", token,
           "--clients", str(clients), "--burst", str(burst)]  # fmt: skip
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("the live-feed clients did not connect")
        target = ops.store.list_incidents(limit=1)[0].incident_id
        for i in range(burst):
            ops.act(target, Action.NOTE, actor="bench", note=f"burst note {i}")
        out = child.stdout.readline()
    lat: list[float] = json.loads(out)
    if len(lat) != clients * burst:
        raise RuntimeError(f"{len(lat)} deliveries, expected {clients * burst}")
    return lat


# --- one database -------------------------------------------------------------------------


def _register(store: Store) -> None:
    for cam in CAMERAS:
        store.upsert_camera(camera_id=cam, name=cam, location=None, url_masked=f"rtsp://{cam}")


def _token(ops: OperatorStore, name: str) -> str:
    from vigil.auth import new_token, secret_hash

    token = new_token()
    ops.add_token(name=name, role="viewer", token_hash=secret_hash(token), cameras=None)
    return token


def _history(
    name: str, ops: OperatorStore, args: argparse.Namespace, media: Path
) -> dict[str, float]:
    from fastapi.testclient import TestClient

    from vigil.api.app import create_app
    from vigil.config import VigilConfig

    headers = {"Authorization": f"Bearer {_token(ops, 'bench-list')}"}
    todo = cases(ops.store, args.reps + 5, seed=3)
    with TestClient(create_app(ops, VigilConfig(), media_dir=media)) as client:
        time_api(client, headers, todo[:5])  # warm up
        api = time_api(client, headers, todo[5:])
    raw = time_raw(ops.store, todo[5:])
    matches = statistics.median(c["matches"] for c in todo)
    print(f"[{name}] history: {args.reps} filters (camera + type + time), median {matches:.0f} "
          f"matches, {PAGE} a page; deep page = cursor ~80 % in")  # fmt: skip
    figures: dict[str, float] = {}
    for kind in ("first", "deep"):
        a, r = api[kind], raw[kind]
        print(f"[{name}]   {kind:5s} page  API p50 {pct(a, 50):7.2f} ms  p95 {pct(a, 95):7.2f} ms"
              f"  | raw SQL p50 {pct(r, 50):6.2f} ms  p95 {pct(r, 95):6.2f} ms")  # fmt: skip
        for who, vs in (("api", a), ("raw", r)):
            figures[f"{name}_{kind}_{who}_p50_ms"] = pct(vs, 50)
            figures[f"{name}_{kind}_{who}_p95_ms"] = pct(vs, 95)
    return figures


def _live(name: str, ops: OperatorStore, args: argparse.Namespace, media: Path) -> dict[str, float]:
    from vigil.api.server import ApiServer
    from vigil.config import VigilConfig

    port = free_port()
    config = VigilConfig.model_validate(
        {"api": {"bind": f"127.0.0.1:{port}", "escalate_after_s": {}}}
    )
    server = ApiServer(ops, config, media_dir=media)
    server.start()
    url, token = f"http://127.0.0.1:{port}", _token(ops, "bench-live")
    figures: dict[str, float] = {}
    try:
        one = fan_out(ops, url, token, 1, args.burst)
        many = fan_out(ops, url, token, args.clients, args.burst)
    finally:
        server.stop()
    print(f"[{name}] live feed: burst of {args.burst} notes | {args.clients} clients: p50 "
          f"{pct(many, 50):6.0f} ms  p95 {pct(many, 95):6.0f} ms  max {max(many):6.0f} ms "
          f"({len(many)} deliveries) | 1 client: p50 {pct(one, 50):6.0f} ms  p95 "
          f"{pct(one, 95):6.0f} ms")  # fmt: skip
    for who, vs in (("sse", many), ("sse1", one)):
        figures[f"{name}_{who}_p50_ms"] = pct(vs, 50)
        figures[f"{name}_{who}_p95_ms"] = pct(vs, 95)
    return figures


def _search(
    name: str, ops: OperatorStore, args: argparse.Namespace, media: Path
) -> dict[str, float]:
    from fastapi.testclient import TestClient

    from storage.search import MiniLMEmbedder
    from vigil.api.app import create_app
    from vigil.config import VigilConfig

    embedder = MiniLMEmbedder()
    t0 = time.perf_counter()
    vecs = seed_vectors(ops, embedder)
    print(f"[{name}] search: {len(vecs)} synthetic report vectors written in "
          f"{time.perf_counter() - t0:.1f} s")  # fmt: skip
    headers = {"Authorization": f"Bearer {_token(ops, 'bench-search')}"}
    app = create_app(ops, VigilConfig(), media_dir=media)
    app.state.vigil.embedder = embedder
    queries = text_queries(random.Random(9), args.search_reps)
    with TestClient(app) as client:
        timed = list(time_text(client, headers, ops, queries))
        sem = time_semantic(client, headers, embedder, vecs, args.semantic_reps)
    figures: dict[str, float] = {}
    failed = [(k, who) for k, who, _ in timed if who.startswith(("api-", "raw-"))]
    failed += [(who, "semantic") for who, vs in sem.items() if who.startswith("api-") for _ in vs]
    if failed:
        print(f"[{name}]   FAILED searches (class, who): {sorted(set(failed))} "
              f"x{len(failed)}; figures below are of the answered ones")  # fmt: skip
    figures[f"{name}_search_failed"] = float(len(failed))
    for kind in ("common", "medium", "rare", "all"):
        a = [ms for k, who, ms in timed if who == "api" and kind in (k, "all")]
        r = [ms for k, who, ms in timed if who == "raw" and kind in (k, "all")]
        print(f"[{name}]   text {kind:6s} API p50 {pct(a, 50):8.2f} ms  p95 {pct(a, 95):8.2f} ms"
              f"  | raw FTS p50 {pct(r, 50):8.2f} ms  p95 {pct(r, 95):8.2f} ms")  # fmt: skip
        for who, vs in (("api", a), ("raw", r)):
            figures[f"{name}_text_{kind}_{who}_p50_ms"] = pct(vs, 50)
            figures[f"{name}_text_{kind}_{who}_p95_ms"] = pct(vs, 95)
    a, b, e = sem["api"], sem["numpy"], sem["embed"]
    print(f"[{name}]   semantic    API p50 {pct(a, 50):8.2f} ms  p95 {pct(a, 95):8.2f} ms"
          f"  | numpy p50 {pct(b, 50):8.2f} ms  p95 {pct(b, 95):8.2f} ms"
          f"  (query embedding alone p50 {pct(e, 50):.2f} ms)")  # fmt: skip
    for who, vs in (("api", a), ("numpy", b), ("embed", e)):
        figures[f"{name}_semantic_{who}_p50_ms"] = pct(vs, 50)
        figures[f"{name}_semantic_{who}_p95_ms"] = pct(vs, 95)
    return figures


def run_backend(
    name: str, url: str, args: argparse.Namespace, cleanup: Callable[[], None]
) -> dict[str, float]:
    """Fill one database, then time the history list and the live feed on it."""
    store = Store.open(StorageConfig(database_url=url))
    media = Path(tempfile.mkdtemp(prefix="vigil-bench-media-"))
    try:
        _register(store)
        fill_s = fill(store, args.incidents)
        print(f"[{name}] filled {args.incidents} incidents + reports in {fill_s:.1f} s")
        ops = OperatorStore(store)
        figures = {f"{name}_fill_s": fill_s}
        parts = set(args.parts.split(","))
        if "history" in parts:
            figures |= _history(name, ops, args, media)
        if "live" in parts:
            figures |= _live(name, ops, args, media)
        if "search" in parts:
            figures |= _search(name, ops, args, media)
    finally:
        store.close()
        cleanup()
    return figures


def _postgres(pg_url: str) -> tuple[str, Callable[[], None]]:
    import psycopg

    base = make_url(pg_url)
    schema = f"vigil_bench_{uuid.uuid4().hex[:10]}"
    conninfo: dict[str, Any] = {"host": base.host, "port": base.port or 5432,
                                "user": base.username, "password": base.password,
                                "dbname": base.database, "autocommit": True}  # fmt: skip
    with psycopg.connect(**conninfo) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with psycopg.connect(**conninfo) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    url = base.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), drop


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--incidents", type=int, default=1_000_000, help="incidents in the database")
    ap.add_argument("--db", default="both", choices=["sqlite", "postgres", "both"])
    ap.add_argument("--reps", type=int, default=200, help="filters timed (first + deep page each)")
    ap.add_argument("--clients", type=int, default=200, help="live-feed clients")
    ap.add_argument("--burst", type=int, default=20, help="live events in the burst")
    ap.add_argument("--parts", default="history,live,search",
                    help="what to time, comma-separated: history, live, search")  # fmt: skip
    ap.add_argument("--search-reps", type=int, default=150, help="text queries timed")
    ap.add_argument("--semantic-reps", type=int, default=30, help="semantic queries timed")
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--sse-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--token", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.sse_worker:
        return sse_worker(args)
    figures: dict[str, float] = {"incidents": float(args.incidents)}
    if args.db in ("sqlite", "both"):
        tmp = tempfile.TemporaryDirectory(prefix="vigil-bench-")
        url = f"sqlite:///{Path(tmp.name) / 'bench.db'}"
        figures |= run_backend("sqlite", url, args, tmp.cleanup)
    if args.db in ("postgres", "both"):
        url, drop = _postgres(args.pg_url)
        figures |= run_backend("pg", url, args, drop)
    print(" ".join(f"{k}={v:.2f}" if v % 1 else f"{k}={int(v)}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
