"""Storage benchmark: incident updates/s with the outbox, and history query latency.

For each backend (SQLite file, PostgreSQL schema created and dropped here):
1. ``Store.record`` of a burst of incident updates (one transaction each: incident upsert,
   timeline row, outbox row; a report every 5th) beside a baseline of the bare minimum durable
   write (one timeline row per transaction);
2. in-process drain rate of the outbox publisher;
3. p50/p95 of ``Store.list_incidents`` with filters (camera + time, type + time, status,
   camera + type + status, newest page) over ``--incidents`` rows, beside the same queries
   with the history indexes dropped.

Ends with one line of ``key=value`` figures.

    python bench/storage.py                      # 1,000,000 incidents, both backends
    python bench/storage.py --incidents 100000 --backends sqlite
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from detectors.types import IncidentUpdate, ScorePoint, UpdateKind
from reports.types import Report, Severity
from storage.models import Incident, IncidentUpdateRow
from storage.publisher import OutboxPublisher
from storage.settings import BusConfig, StorageConfig
from storage.store import Store

CAMERAS = [f"cam-{i:02d}" for i in range(20)]
EVENTS = ["fall", "fire", "smoke", "intrusion"]
STATUSES = (
    ["closed"] * 80 + ["open"] * 5 + ["acknowledged"] * 5 + ["resolved"] * 7 + ["false_alarm"] * 3
)
T_END = 1_735_689_600.0  # 2025-01-01
SPAN_S = 365 * 86400.0
HISTORY_INDEXES = [
    "ix_incidents_opened",
    "ix_incidents_camera_opened",
    "ix_incidents_type_opened",
    "ix_incidents_status_opened",
]


def updates(n: int) -> Iterator[tuple[IncidentUpdate, Report | None]]:
    """A burst of n updates over the cameras: each incident opens, updates 3x, closes."""
    for i in range(n):
        inc, step = divmod(i, 5)
        cam = CAMERAS[inc % len(CAMERAS)]
        opened = T_END - 3600 + inc
        kind = (
            UpdateKind.OPEN if step == 0 else UpdateKind.CLOSE if step == 4 else UpdateKind.UPDATE
        )
        ts = opened + step
        upd = IncidentUpdate(
            incident_id=f"bench-{inc}",
            version=step + 1,
            kind=kind,
            camera_id=cam,
            event_type=EVENTS[inc % 4],
            ts_s=ts,
            opened_ts_s=opened,
            closed_ts_s=ts if kind is UpdateKind.CLOSE else None,
            score=0.8,
            peak_score=0.9,
            mean_score=0.75,
            zone="dock",
            cues={"motion_energy": 0.3},
            timeline=tuple(ScorePoint(opened + k, 0.8) for k in range(step + 1)),
        )
        report = None
        if step == 0:
            report = Report(
                incident_id=upd.incident_id,
                incident_version=1,
                title="Bench incident",
                summary="Something happened on a bench camera.",
                severity=Severity.MEDIUM,
                action="Look.",
                backend="template",
            )
        yield upd, report


def register(store: Store) -> None:
    for cam in CAMERAS:
        store.upsert_camera(camera_id=cam, name=cam, location=None, url_masked=f"rtsp://{cam}")


def bench_writes(store: Store, n: int) -> dict[str, float]:
    """updates/s of Store.record, the baseline, and the in-process drain rate."""
    t0 = time.perf_counter()
    for upd, report in updates(n):
        store.record(upd, report=report)
    record_s = time.perf_counter() - t0

    rows: list[dict[str, Any]] = [
        {
            "incident_id": f"bench-{i // 5}",
            "version": 100 + i,
            "kind": "update",
            "ts_s": T_END + i,
            "status": "open",
            "score": 0.8,
            "peak_score": 0.9,
            "mean_score": 0.75,
            "zone": None,
            "closed_ts_s": None,
            "close_reason": None,
            "cues": {},
            "timeline": [],
        }
        for i in range(n)
    ]
    t0 = time.perf_counter()
    for row in rows:
        with store.engine.begin() as conn:
            conn.execute(insert(IncidentUpdateRow), row)
    base_s = time.perf_counter() - t0

    backlog = store.outbox_backlog()
    pub = OutboxPublisher(store, BusConfig(outbox_poll_s=0.05, outbox_batch=1000))
    received = 0

    def count(_topic: str, _msg: dict[str, Any]) -> None:
        nonlocal received
        received += 1

    pub.subscribe(count)
    t0 = time.perf_counter()
    pub.start()
    pub.flush(timeout_s=300)
    drain_s = time.perf_counter() - t0
    pub.stop()
    return {
        "updates_per_s": n / record_s,
        "baseline_rows_per_s": n / base_s,
        "drain_msgs_per_s": backlog / drain_s if drain_s else 0.0,
        "drained": float(received),
    }


def fill(store: Store, count: int, seed: int = 7) -> float:
    """Bulk-insert ``count`` incidents; returns seconds taken."""
    rng = random.Random(seed)
    cols = [c.name for c in Incident.__table__.columns]

    def rows() -> Iterator[tuple[Any, ...]]:
        for i in range(count):
            opened = T_END - rng.random() * SPAN_S
            status = rng.choice(STATUSES)
            closed = None if status == "open" else opened + rng.uniform(2, 600)
            score = rng.uniform(0.5, 1.0)
            values = {
                "id": f"h-{i:08d}-{rng.getrandbits(32):08x}",
                "camera_id": rng.choice(CAMERAS),
                "event_type": rng.choice(EVENTS),
                "status": status,
                "opened_ts_s": opened,
                "closed_ts_s": closed,
                "last_ts_s": closed or opened,
                "score": score,
                "peak_score": score,
                "mean_score": score * 0.9,
                "zone": None,
                "onset_pts_s": 0.0,
                "close_reason": None,
                "version": 2,
            }
            yield tuple(values[c] for c in cols)

    t0 = time.perf_counter()
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        if store.dialect == "postgresql":
            with cur.copy(f"COPY incidents ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows():
                    copy.write_row(row)
            raw.commit()
            cur.execute("ANALYZE incidents")
            raw.commit()
        else:
            marks = ", ".join("?" for _ in cols)
            sql = f"INSERT INTO incidents ({', '.join(cols)}) VALUES ({marks})"
            cur.execute("BEGIN")
            batch: list[tuple[Any, ...]] = []
            for row in rows():
                batch.append(row)
                if len(batch) == 50_000:
                    cur.executemany(sql, batch)
                    batch.clear()
            cur.executemany(sql, batch)
            cur.execute("COMMIT")
            cur.execute("ANALYZE")
        cur.close()
    finally:
        raw.close()
    return time.perf_counter() - t0


def queries(seed: int) -> list[tuple[str, dict[str, Any]]]:
    """The filtered history queries, each with random parameters."""
    rng = random.Random(seed)
    week = 7 * 86400.0

    def since() -> float:
        return T_END - rng.random() * (SPAN_S - week)

    out: list[tuple[str, dict[str, Any]]] = []
    for _ in range(1000):
        s = since()
        out.append(
            (
                "camera_time",
                {"camera": rng.choice(CAMERAS), "since_ts_s": s, "until_ts_s": s + week},
            )
        )
        s = since()
        out.append(
            (
                "type_time",
                {"event_type": rng.choice(EVENTS), "since_ts_s": s, "until_ts_s": s + week},
            )
        )
        out.append(("status", {"status": rng.choice(["open", "acknowledged", "false_alarm"])}))
        out.append(
            (
                "camera_type_status",
                {
                    "camera": rng.choice(CAMERAS),
                    "event_type": rng.choice(EVENTS),
                    "status": "closed",
                },
            )
        )
        out.append(("newest", {}))
    return out


def time_queries(store: Store, reps: int, seed: int) -> dict[str, list[float]]:
    """Latency (ms) of list_incidents(limit=100) per query kind, ``reps`` each."""
    lat: dict[str, list[float]] = {}
    for kind, kw in queries(seed):
        bucket = lat.setdefault(kind, [])
        if len(bucket) >= reps:
            continue
        t0 = time.perf_counter()
        store.list_incidents(limit=100, **kw)
        bucket.append((time.perf_counter() - t0) * 1000)
    return lat


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of values."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def run_backend(
    name: str, url: str, args: argparse.Namespace, cleanup: Callable[[], None]
) -> dict[str, float]:
    figures: dict[str, float] = {}
    cfg = StorageConfig(database_url=url, sqlite_synchronous=args.sqlite_synchronous)
    store = Store.open(cfg)
    try:
        register(store)
        w = bench_writes(store, args.updates)
        print(
            f"[{name}] record(): {w['updates_per_s']:8.0f} updates/s with outbox | baseline "
            f"bare timeline insert: {w['baseline_rows_per_s']:8.0f} rows/s | in-process drain: "
            f"{w['drain_msgs_per_s']:8.0f} msgs/s"
        )
        figures.update(
            {
                f"{name}_updates_per_s": w["updates_per_s"],
                f"{name}_baseline_rows_per_s": w["baseline_rows_per_s"],
                f"{name}_drain_msgs_per_s": w["drain_msgs_per_s"],
            }
        )
        fill_s = fill(store, args.incidents)
        print(f"[{name}] filled {args.incidents} incidents in {fill_s:.1f} s")
        figures[f"{name}_fill_s"] = fill_s
        time_queries(store, 5, seed=1)  # warm the cache
        lat = time_queries(store, args.reps, seed=2)
        every = [v for vs in lat.values() for v in vs]
        for kind, vs in lat.items():
            print(f"[{name}] {kind:20s} p50 {pct(vs, 50):8.2f} ms  p95 {pct(vs, 95):8.2f} ms")
        figures[f"{name}_query_p50_ms"] = pct(every, 50)
        figures[f"{name}_query_p95_ms"] = pct(every, 95)
        if args.baseline_reps:
            with store.engine.begin() as conn:
                for ix in HISTORY_INDEXES:
                    conn.execute(text(f"DROP INDEX {ix}"))
            base = time_queries(store, args.baseline_reps, seed=3)
            all_base = [v for vs in base.values() for v in vs]
            p50, p95 = figures[f"{name}_query_p50_ms"], figures[f"{name}_query_p95_ms"]
            print(
                f"[{name}] baseline without history indexes: p50 {pct(all_base, 50):8.2f} ms  "
                f"p95 {pct(all_base, 95):8.2f} ms  (indexed: p50 {p50:.2f} p95 {p95:.2f})"
            )
            figures[f"{name}_noindex_p50_ms"] = pct(all_base, 50)
            figures[f"{name}_noindex_p95_ms"] = pct(all_base, 95)
    finally:
        store.close()
        cleanup()
    return figures


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--incidents", type=int, default=1_000_000, help="incidents for the history queries"
    )
    ap.add_argument("--updates", type=int, default=2000, help="incident updates for the write test")
    ap.add_argument("--reps", type=int, default=200, help="queries of each kind")
    ap.add_argument(
        "--baseline-reps", type=int, default=10, help="unindexed queries of each kind (0: skip)"
    )
    ap.add_argument("--backends", default="sqlite,postgresql", help="comma-separated")
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--sqlite-synchronous", default="FULL", choices=["FULL", "NORMAL"])
    args = ap.parse_args()

    import psycopg

    figures: dict[str, float] = {"incidents": float(args.incidents), "updates": float(args.updates)}
    for backend in args.backends.split(","):
        if backend == "sqlite":
            tmp = tempfile.TemporaryDirectory(prefix="vigil-bench-")
            url = f"sqlite:///{Path(tmp.name) / 'bench.db'}"
            figures.update(run_backend("sqlite", url, args, tmp.cleanup))
        elif backend == "postgresql":
            base = make_url(args.pg_url)
            schema = f"vigil_bench_{uuid.uuid4().hex[:10]}"
            conninfo: dict[str, Any] = {
                "host": base.host,
                "port": base.port or 5432,
                "user": base.username,
                "password": base.password,
                "dbname": base.database,
                "autocommit": True,
            }
            with psycopg.connect(**conninfo) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')

            def drop(schema: str = schema, conninfo: dict[str, Any] = conninfo) -> None:
                with psycopg.connect(**conninfo) as conn:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

            url = base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
                hide_password=False
            )
            figures.update(run_backend("pg", url, args, drop))
        else:
            ap.error(f"unknown backend {backend!r}")
    print(" ".join(f"{k}={v:.2f}" if v % 1 else f"{k}={int(v)}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
