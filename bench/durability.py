"""Durability benchmark: what a locked database costs detection, and how fast SIGTERM ends.

1. **Locked database, 8 cameras.** Eight feeder threads put frames (2 fps each) into the real
   ``FrameQueue`` (4 frames per camera, drop-oldest, as live cameras do); one inference thread
   takes batches and, every second of a camera's stream, emits an incident update (open, four
   updates, close, and again). Three seconds in, another SQLite connection holds the database
   locked for 5 s. Two ways to write, in the same run:

   - ``inline``: what Vigil did before issue #9, ``Store.record`` on the inference thread
     (retried on error), then a notify to the outbox publisher;
   - ``journal``: ``DurableRecorder.submit_update`` (an fsync'd journal line), the writer thread
     stores it.

   Figures per mode: frames dropped by the queue (detection that never happened), the longest
   the inference thread was held by one write, and onset -> stored and onset -> published
   (in-process bus) p50/p95/max over every update.

2. **SIGTERM with PostgreSQL hung.** A real ``vigil run`` on PostgreSQL through a TCP proxy
   (``tests/support/proxy.py``); once it runs, the proxy freezes (sockets open, no byte moves)
   and SIGTERM is sent: seconds from SIGTERM to exit, beside the same with the database healthy.

    python bench/durability.py
    python bench/durability.py --seconds 12 --skip-postgres

Ends with one line of ``key=value`` figures.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from detectors.types import IncidentUpdate, UpdateKind
from storage.errors import StorageError
from storage.journal import Entry, Journal, Pending
from storage.publisher import OutboxPublisher
from storage.recorder import DurableRecorder
from storage.settings import BusConfig, StorageConfig
from storage.store import Store
from streamer.queue import FrameQueue
from streamer.types import Frame

ROOT = Path(__file__).resolve().parents[1]
CAMERAS = [f"cam-{i}" for i in range(8)]
FPS = 2.0
LOCK_AT_S = 3.0
LOCK_FOR_S = 5.0
IMAGE = np.zeros((8, 8, 3), np.uint8)
PG_URL = os.environ.get("VIGIL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _update(cam: str, n: int, now: float) -> IncidentUpdate:
    """The n-th update of a camera: incidents of 6 versions (open, 4 updates, close)."""
    incident, version = divmod(n, 6)
    kind = UpdateKind.OPEN if version == 0 else UpdateKind.UPDATE
    if version == 5:
        kind = UpdateKind.CLOSE
    opened = now - version
    return IncidentUpdate(
        incident_id=f"{cam}-{incident}",
        version=version + 1,
        kind=kind,
        camera_id=cam,
        event_type="fall",
        ts_s=now,
        opened_ts_s=opened,
        closed_ts_s=now if kind is UpdateKind.CLOSE else None,
        score=0.9,
        peak_score=0.9,
        mean_score=0.8,
        onset_pts_s=float(n),
        close_reason="score_dropped" if kind is UpdateKind.CLOSE else None,
    )


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def locked_database_run(mode: str, seconds: float, folder: Path) -> dict[str, float]:
    """One run of part 1 in ``mode`` (inline or journal); returns its figures."""
    db = folder / f"{mode}.db"
    cfg = StorageConfig(
        database_url=f"sqlite:///{db}",
        media_dir=str(folder / f"{mode}-media"),
        journal_dir=str(folder / f"{mode}-journal"),
    )
    store = Store.open(cfg)
    for cam in CAMERAS:
        store.upsert_camera(camera_id=cam, name=cam, location=None, url_masked=f"rtsp://{cam}/")
    publisher = OutboxPublisher(store, BusConfig(outbox_poll_s=0.2))
    onset: dict[tuple[str, int], float] = {}
    stored: dict[tuple[str, int], float] = {}
    published: dict[tuple[str, int], float] = {}
    lock = threading.Lock()

    def on_message(topic: str, payload: dict[str, Any]) -> None:
        if topic.endswith("incidents"):
            with lock:
                published.setdefault((payload["incident_id"], payload["version"]), time.time())

    publisher.subscribe(on_message)
    publisher.start()
    recorder: DurableRecorder | None = None
    if mode == "journal":

        def on_stored(entry: Entry) -> None:
            if entry.pending is not None:
                u = entry.pending.update
                with lock:
                    stored[(u.incident_id, u.version)] = time.time()
            publisher.notify()

        recorder = DurableRecorder(store, Journal(cfg.journal_path()), on_stored=on_stored)
        recorder.start()

    queue = FrameQueue(per_camera=4)
    stop = threading.Event()
    t_start = time.monotonic()

    def feed(cam: str) -> None:
        seq = 0
        while not stop.is_set():
            due = t_start + seq / FPS
            time.sleep(max(0.0, due - time.monotonic()))
            if time.monotonic() - t_start >= seconds:
                return
            queue.put(Frame(cam, seq, seq / FPS, time.time(), IMAGE))
            seq += 1

    def hold_lock() -> None:
        time.sleep(LOCK_AT_S)
        conn = sqlite3.connect(db, timeout=30)
        conn.execute("BEGIN EXCLUSIVE")
        time.sleep(LOCK_FOR_S)
        conn.rollback()
        conn.close()

    feeders = [threading.Thread(target=feed, args=(c,), daemon=True) for c in CAMERAS]
    locker = threading.Thread(target=hold_lock, daemon=True)
    for t in [*feeders, locker]:
        t.start()
    held: list[float] = []
    processed = 0
    emitted: dict[str, int] = dict.fromkeys(CAMERAS, 0)
    while any(t.is_alive() for t in feeders) or len(queue):
        for frame in queue.get_batch(8, timeout_s=0.2):
            processed += 1
            if frame.seq % int(FPS):  # an update per second of each camera's stream
                continue
            upd = _update(frame.camera_id, emitted[frame.camera_id], time.time())
            emitted[frame.camera_id] += 1
            key = (upd.incident_id, upd.version)
            t0 = time.monotonic()
            with lock:
                onset[key] = time.time()
            if recorder is not None:
                recorder.submit_update(Pending(upd))
            else:
                while True:
                    try:
                        store.record(upd)
                        break
                    except StorageError:
                        time.sleep(0.2)
                with lock:
                    stored[key] = time.time()
                publisher.notify()
            held.append(time.monotonic() - t0)
    stop.set()
    locker.join()
    deadline = time.monotonic() + 60
    while len(published) < len(onset) and time.monotonic() < deadline:
        time.sleep(0.05)
    if recorder is not None:
        recorder.stop(timeout_s=10)
    publisher.stop(drain_timeout_s=5)
    store.close()
    to_stored = [stored[k] - onset[k] for k in onset if k in stored]
    to_pub = [published[k] - onset[k] for k in onset if k in published]
    return {
        "updates": len(onset),
        "frames": processed,
        "dropped": sum(queue.drops.values()),
        "held_max_s": max(held, default=0.0),
        "stored_p50_s": _pct(to_stored, 50),
        "stored_p95_s": _pct(to_stored, 95),
        "stored_max_s": max(to_stored, default=float("nan")),
        "published_p50_s": _pct(to_pub, 50),
        "published_p95_s": _pct(to_pub, 95),
        "published_max_s": max(to_pub, default=float("nan")),
        "unpublished": len(onset) - len(to_pub),
    }


def sigterm_run(folder: Path, clip: Path, *, hang: bool) -> float:
    """Seconds from SIGTERM to exit of a real ``vigil run`` on PostgreSQL (hung or healthy)."""
    import psycopg
    from sqlalchemy.engine import make_url

    from tests.support.proxy import FreezingProxy

    url = make_url(PG_URL)
    schema = f"vigil_bench_{os.getpid()}_{int(hang)}"
    conninfo = {
        "host": url.host or "127.0.0.1",
        "port": url.port or 5432,
        "user": url.username or "postgres",
        "dbname": url.database or "test",
    }
    if url.password:
        conninfo["password"] = url.password
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        with FreezingProxy((conninfo["host"], int(conninfo["port"]))) as proxy:
            via = url.set(host="127.0.0.1", port=proxy.port).update_query_dict(
                {"options": f"-csearch_path={schema}"}
            )
            cfg = folder / f"sigterm-{int(hang)}.yaml"
            cfg.write_text(
                f"""storage:
  database_url: "{via.render_as_string(hide_password=False)}"
  media_dir: {folder / f"sigterm-media-{int(hang)}"}
  journal_dir: {folder / f"sigterm-journal-{int(hang)}"}
cameras:
  - {{id: cam, url: "{clip}", fps: 2}}
""",
                encoding="utf-8",
            )
            proc = subprocess.Popen(
                [sys.executable, "-m", "vigil", "run", "-c", str(cfg)],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                cwd=ROOT,
            )
            assert proc.stdout is not None
            for line in proc.stdout:
                if "vigil started" in line:
                    break
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            time.sleep(2.0)
            if hang:
                proxy.freeze()
                time.sleep(1.0)
            t0 = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            return time.monotonic() - t0
    finally:
        with psycopg.connect(**conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def main() -> None:
    """Run both parts and print their figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=12.0, help="stream length of part 1")
    ap.add_argument("--skip-postgres", action="store_true", help="skip part 2")
    args = ap.parse_args()
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="vigil-bench-") as tmp:
        folder = Path(tmp)
        print(
            f"part 1: {len(CAMERAS)} cameras at {FPS:g} fps for {args.seconds:g} s, SQLite "
            f"locked for {LOCK_FOR_S:g} s from t={LOCK_AT_S:g} s; an update per camera-second"
        )
        header = (
            f"{'mode':<8} {'updates':>7} {'frames':>6} {'dropped':>7} {'held max':>9} "
            f"{'stored p50/p95/max':>22} {'published p50/p95/max':>24}"
        )
        print(header)
        for mode in ("inline", "journal"):
            r = locked_database_run(mode, args.seconds, folder)
            print(
                f"{mode:<8} {r['updates']:>7.0f} {r['frames']:>6.0f} {r['dropped']:>7.0f} "
                f"{r['held_max_s']:>8.2f}s "
                f"{r['stored_p50_s']:>6.2f}/{r['stored_p95_s']:.2f}/{r['stored_max_s']:.2f} s "
                f"{r['published_p50_s']:>8.2f}/{r['published_p95_s']:.2f}/"
                f"{r['published_max_s']:.2f} s"
            )
            for k, v in r.items():
                figures[f"{mode}_{k}"] = v
        if not args.skip_postgres:
            from vigil.scene import generate_scene

            clip = folder / "scene.mp4"
            generate_scene(clip, seed=0, scenario="walking", duration_s=60)
            print("part 2: SIGTERM -> exit of `vigil run` on PostgreSQL")
            for hang in (False, True):
                s = sigterm_run(folder, clip, hang=hang)
                name = "hung" if hang else "healthy"
                print(f"  database {name:<8} {s:.2f} s")
                figures[f"sigterm_{name}_s"] = s
    print(" ".join(f"{k}={v:.3f}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
