"""The outbox publisher against a real broker: order, outages, crashes, in-process bus."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from storage_testkit import Broker, Consumed, assert_valid_message, consume
from storage_workload import burst, make_report, make_update

from detectors.types import IncidentUpdate
from storage.messages import MAX_TEXT_CHARS
from storage.models import OutboxRow
from storage.publisher import OutboxPublisher
from storage.records import OutboxMessage
from storage.repository import record_update
from storage.settings import BusConfig, KafkaConfig, StorageConfig
from storage.store import Store

WORKER = Path(__file__).with_name("publisher_worker.py")


def _register(store: Store, cameras: int) -> None:
    for c in range(cameras):
        store.upsert_camera(camera_id=f"cam-{c}", name=f"cam {c}", location=None, url_masked="x")


def _outbox_order(store: Store) -> dict[tuple[str, str], list[tuple[str, int]]]:
    """(topic, camera) -> [(incident_id, version)] in outbox (commit) order."""
    order: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)
    with store.engine.connect() as conn:
        for row in conn.execute(
            select(
                OutboxRow.topic, OutboxRow.key, OutboxRow.incident_id, OutboxRow.version
            ).order_by(OutboxRow.id)
        ):
            order[(row.topic, row.key)].append((row.incident_id, row.version))
    return order


def _check_exactly_once_in_order(got: list[Consumed], store: Store, prefix: str) -> dict[str, int]:
    """After dropping duplicates by (incident_id, version): every outbox row exactly once,
    in outbox order per camera and topic. Returns counts."""
    firsts: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)
    seen: set[tuple[str, str, int]] = set()
    for m in sorted(got, key=lambda c: (c.topic, c.partition, c.offset)):
        suffix = m.topic.removeprefix(prefix + ".")
        assert m.key == m.value["camera_id"]
        assert_valid_message(suffix, m.value)
        ident = (suffix, m.value["incident_id"], m.value["version"])
        if ident in seen:
            continue
        seen.add(ident)
        firsts[(suffix, m.key)].append((m.value["incident_id"], m.value["version"]))
    partitions: dict[tuple[str, str], set[int]] = defaultdict(set)
    for m in got:
        partitions[(m.topic, m.key)].add(m.partition)
    assert all(len(p) == 1 for p in partitions.values()), "a camera's messages share a partition"
    expected = _outbox_order(store)
    assert set(firsts) == set(expected)
    for k, want in expected.items():
        assert firsts[k] == want, f"{k}: order or content differs"
    return {"consumed": len(got), "distinct": len(seen)}


def test_in_process_bus_gets_every_message_in_order(store: Store) -> None:
    got: list[tuple[str, dict[str, Any]]] = []
    pub = OutboxPublisher(store, BusConfig(outbox_poll_s=0.05))
    pub.subscribe(lambda topic, msg: got.append((topic, msg)))
    failing = pub.subscribe(lambda topic, msg: 1 / 0)  # a broken subscriber harms no one
    pub.start()
    try:
        store.record(make_update("inc-1", 1), report=make_report("inc-1", 1))
        pub.notify()
        store.record(make_update("inc-1", 2, closed=True))
        pub.notify()
        assert pub.flush(timeout_s=10)
    finally:
        failing()
        pub.stop()
    assert [(t, m["incident_id"], m["version"]) for t, m in got] == [
        ("incidents", "inc-1", 1),
        ("reports", "inc-1", 1),
        ("incidents", "inc-1", 2),
    ]
    for topic, msg in got:
        assert_valid_message(topic, msg)
    assert store.outbox_backlog() == 0
    stats = pub.stats()
    assert stats.delivered_local == 3 and stats.subscriber_errors == 3


def test_in_process_bus_delivers_rows_left_by_a_previous_run(store: Store) -> None:
    store.record(make_update("inc-1", 1))
    got: list[str] = []
    pub = OutboxPublisher(store, BusConfig(outbox_poll_s=0.05))
    pub.subscribe(lambda topic, msg: got.append(msg["incident_id"]))
    pub.start()
    try:
        assert pub.flush(timeout_s=10)
    finally:
        pub.stop()
    assert got == ["inc-1"]


def test_kafka_gets_incidents_and_reports_keyed_by_camera(
    store: Store, broker: Broker, topic_prefix: str
) -> None:
    _register(store, 3)
    for i, update in enumerate(burst(60, 3)):
        report = make_report(update.incident_id, update.version) if i % 7 == 0 else None
        store.record(update, report=report)
    local: list[str] = []
    bus = BusConfig(
        kafka=KafkaConfig(bootstrap_servers=broker.bootstrap, topic_prefix=topic_prefix),
        outbox_batch=25,
        outbox_poll_s=0.05,
    )
    pub = OutboxPublisher(store, bus)
    pub.subscribe(lambda topic, msg: local.append(topic))
    pub.start()
    try:
        store.record(make_update("late", 1, camera_id="cam-1"))  # written while running
        pub.notify()
        assert pub.flush(timeout_s=30)
    finally:
        pub.stop()
    total = store.outbox_backlog() + _count_outbox(store)
    got = consume(
        broker.bootstrap,
        [f"{topic_prefix}.incidents", f"{topic_prefix}.reports"],
        expect=total,
    )
    counts = _check_exactly_once_in_order(got, store, topic_prefix)
    assert counts["distinct"] == total == 61 + 9
    assert local == ["incidents"]  # rows pending at start went out before: only the new one
    assert pub.stats().idempotent is False  # tansu (memory) refuses it: the fallback is used


def _count_outbox(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(OutboxRow)) or 0)


def test_unreachable_broker_at_start_up_loses_nothing(
    tmp_path: Path, own_broker: Broker, topic_prefix: str
) -> None:
    store = Store.open(StorageConfig(database_url=f"sqlite:///{tmp_path / 'v.db'}"))
    _register(store, 2)
    bus = BusConfig(
        kafka=KafkaConfig(
            bootstrap_servers=own_broker.bootstrap,
            topic_prefix=topic_prefix,
            request_timeout_s=2,
            retry_backoff_max_s=0.5,
        ),
        outbox_poll_s=0.05,
    )
    pub = OutboxPublisher(store, bus)
    live: list[str] = []
    pub.subscribe(lambda topic, msg: live.append(msg["incident_id"]))
    starter = threading.Thread(target=pub.start)  # no broker yet: start() must return
    starter.start()
    starter.join(timeout=60)  # only stops a hang
    assert not starter.is_alive(), "start() waited for an unreachable broker"
    try:
        for update in burst(40, 2):
            store.record(update)
            pub.notify()
        time.sleep(1.0)
        assert store.outbox_backlog() == 40
        assert pub.stats().connected is False and pub.stats().failed_attempts >= 1
        assert len(live) == 40  # the in-process feed does not wait for the broker
        own_broker.start()
        assert pub.flush(timeout_s=30)
    finally:
        pub.stop()
    got = consume(own_broker.bootstrap, [f"{topic_prefix}.incidents"], expect=40)
    assert _check_exactly_once_in_order(got, store, topic_prefix)["distinct"] == 40
    store.close()


@pytest.mark.slow
def test_broker_paused_30s_during_a_burst_of_500_updates(
    pg_schema_url: str, own_broker: Broker, topic_prefix: str
) -> None:
    """Real PostgreSQL + real broker: SIGSTOP for 30 s while 500 updates are written."""
    store = Store.open(StorageConfig(database_url=pg_schema_url))
    _register(store, 4)
    own_broker.start()
    bus = BusConfig(
        kafka=KafkaConfig(
            bootstrap_servers=own_broker.bootstrap,
            topic_prefix=topic_prefix,
            request_timeout_s=3,
            retry_backoff_max_s=1,
        ),
        outbox_batch=50,
        outbox_poll_s=0.05,
    )
    pub = OutboxPublisher(store, bus)
    pub.start()
    paused_at = 0.0
    try:
        for i, update in enumerate(burst(500, 4)):
            if i == 100:
                deadline = time.monotonic() + 20
                while store.outbox_backlog() and time.monotonic() < deadline:
                    time.sleep(0.02)  # let the first 100 go out, then pull the plug
                own_broker.pause()
                paused_at = time.monotonic()
            store.record(update)  # writes never wait for the broker
            pub.notify()
        assert store.outbox_backlog() >= 400 - 50  # at most one round slipped out before it
        time.sleep(max(0.0, 30 - (time.monotonic() - paused_at)))
        assert store.outbox_backlog() >= 350
        own_broker.resume()
        assert pub.flush(timeout_s=60)
    finally:
        own_broker.resume()
        pub.stop()
    assert pub.stats().failed_attempts >= 1
    got = consume(own_broker.bootstrap, [f"{topic_prefix}.incidents"], expect=500, timeout_s=60)
    assert _check_exactly_once_in_order(got, store, topic_prefix)["distinct"] == 500
    store.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_vigil_killed_mid_drain_and_restarted_loses_nothing(
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    broker: Broker,
    topic_prefix: str,
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'v.db'}"
    else:
        url = str(request.getfixturevalue("pg_schema_url"))
    n, cameras = 300, 3
    args = [sys.executable, str(WORKER), url, broker.bootstrap, topic_prefix, str(n), str(cameras)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    first = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    output: list[str] = []
    reader = threading.Thread(
        target=lambda: output.extend(line.decode() for line in first.stdout or []), daemon=True
    )
    reader.start()
    store: Store | None = None
    try:
        deadline = time.monotonic() + 60
        sent = 0
        while time.monotonic() < deadline:
            if first.poll() is not None:
                pytest.fail(f"worker ended before it was killed: {''.join(output)}")
            if store is None:
                try:
                    store = Store.open(StorageConfig(database_url=url), create_if_empty=False)
                except Exception:
                    time.sleep(0.05)
                    continue
            sent = _count_outbox(store) - store.outbox_backlog()
            if sent >= 60:
                break
            time.sleep(0.01)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        assert store is not None
        written = _count_outbox(store)
        assert 60 <= sent < n and written < n, "the kill must land mid-burst and mid-drain"
        second = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "done" in second.stdout
        assert store.outbox_backlog() == 0 and _count_outbox(store) == n
        got = consume(broker.bootstrap, [f"{topic_prefix}.incidents"], expect=n)
        assert _check_exactly_once_in_order(got, store, topic_prefix)["distinct"] == n
    finally:
        if first.poll() is None:
            first.kill()
        if store is not None:
            store.close()


def test_a_huge_report_is_clipped_in_messages_and_kept_whole_in_the_database(
    tmp_path: Path, broker: Broker, topic_prefix: str
) -> None:
    store = Store.open(StorageConfig(database_url=f"sqlite:///{tmp_path / 'v.db'}"))
    _register(store, 1)
    huge = replace(make_report("cam-0-inc-0", 1), summary="x" * 2_000_000)
    updates = list(burst(3, 1))
    store.record(updates[0], report=huge)
    store.record(updates[1])
    store.record(updates[2])
    bus = BusConfig(
        kafka=KafkaConfig(bootstrap_servers=broker.bootstrap, topic_prefix=topic_prefix),
        outbox_poll_s=0.05,
    )
    pub = OutboxPublisher(store, bus)
    pub.start()
    try:
        assert pub.flush(timeout_s=30)
    finally:
        pub.stop()
    got = consume(
        broker.bootstrap, [f"{topic_prefix}.incidents", f"{topic_prefix}.reports"], expect=4
    )
    _check_exactly_once_in_order(got, store, topic_prefix)
    report_msg = next(m.value for m in got if m.topic.endswith(".reports"))
    assert len(report_msg["summary"]) == MAX_TEXT_CHARS and report_msg["summary"].endswith("…")
    detail = store.get_incident("cam-0-inc-0")
    assert detail is not None and len(detail.reports[0].summary) == 2_000_000
    store.close()


@pytest.mark.parametrize("kafka", [False, True])
def test_a_row_committed_after_a_newer_one_still_reaches_the_feed(
    pg_schema_url: str, broker: Broker, topic_prefix: str, kafka: bool
) -> None:
    """PostgreSQL hands out ids at insert but shows rows at commit: a lower id can appear
    after a higher one has been delivered."""
    store = Store.open(StorageConfig(database_url=pg_schema_url))
    _register(store, 2)
    kafka_cfg = KafkaConfig(bootstrap_servers=broker.bootstrap, topic_prefix=topic_prefix)
    pub = OutboxPublisher(store, BusConfig(kafka=kafka_cfg if kafka else None, outbox_poll_s=0.05))
    live: list[str] = []
    pub.subscribe(lambda topic, msg: live.append(msg["incident_id"]))
    pub.start()
    try:
        with Session(store.engine) as slow, slow.begin():
            record_update(
                slow,
                update=make_update("slow", 1, camera_id="cam-0"),
                report=None,
                now_s=time.time(),
            )
            slow.flush()  # its outbox id is taken now
            store.record(make_update("fast", 1, camera_id="cam-1"))
            pub.notify()
            deadline = time.monotonic() + 10
            while "fast" not in live and time.monotonic() < deadline:
                time.sleep(0.02)
            assert live == ["fast"]
        pub.notify()  # "slow" is committed now, with the lower id
        assert pub.flush(timeout_s=20)
        deadline = time.monotonic() + 10
        while len(live) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        pub.stop()
        store.close()
    assert live == ["fast", "slow"]


class _CommitAfterEmptyRead:
    """Wraps ``Store.pending_outbox``: right after a read that found nothing new, another
    writer commits a row, so the publisher's NEXT read is the first to see it."""

    def __init__(self, store: Store, updates: list[IncidentUpdate]) -> None:
        self._store = store
        self._read = store.pending_outbox
        self.todo = list(updates)
        self.committed = 0
        self.armed = False

    def __call__(self, *, limit: int, after_id: int = 0) -> list[OutboxMessage]:
        rows = self._read(limit=limit, after_id=after_id)
        if not rows and self.armed and self.todo:
            writer = threading.Thread(target=self._store.record, args=(self.todo.pop(0),))
            writer.start()
            writer.join(timeout=30)  # only stops a hang
            self.committed += 1
        return rows


def test_rows_committed_while_publishing_reach_subscribers_once_and_kafka_in_order(
    pg_schema_url: str, broker: Broker, topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With Kafka, a row committed between the in-process feed's read and the Kafka read
    still reaches the in-process subscribers, exactly once, and Kafka in camera order."""
    store = Store.open(StorageConfig(database_url=pg_schema_url))
    _register(store, 3)
    updates = list(burst(90, 3))
    cued = [u for u in updates if u.camera_id == "cam-0"]  # committed between two reads
    free = [u for u in updates if u.camera_id != "cam-0"]  # written by this thread meanwhile
    hook = _CommitAfterEmptyRead(store, cued)
    monkeypatch.setattr(store, "pending_outbox", hook)
    bus = BusConfig(
        kafka=KafkaConfig(bootstrap_servers=broker.bootstrap, topic_prefix=topic_prefix),
        outbox_batch=20,
        outbox_poll_s=0.05,
    )
    pub = OutboxPublisher(store, bus)
    live: list[tuple[str, str, int]] = []
    pub.subscribe(lambda topic, msg: live.append((topic, msg["incident_id"], msg["version"])))
    pub.start()
    try:
        hook.armed = True
        for update in free:
            store.record(update)
            pub.notify()
        deadline = time.monotonic() + 30
        while hook.committed < len(cued) and time.monotonic() < deadline:
            pub.notify()
            time.sleep(0.02)
        assert hook.committed == len(cued)
        assert pub.flush(timeout_s=30)
    finally:
        pub.stop()
    written = {(t, i, v) for (t, _), rows in _outbox_order(store).items() for i, v in rows}
    assert len(written) == len(updates)
    duplicates = [m for m, n in Counter(live).items() if n > 1]
    assert not duplicates, f"delivered more than once in-process: {duplicates[:5]}"
    missing = written - set(live)
    assert not missing, f"{len(missing)} rows never reached the in-process subscribers"
    got = consume(broker.bootstrap, [f"{topic_prefix}.incidents"], expect=len(updates))
    assert _check_exactly_once_in_order(got, store, topic_prefix)["distinct"] == len(updates)
    store.close()


def _outbox_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "vigil-outbox" and t.is_alive()]


def test_an_unexpected_error_does_not_stop_the_publisher(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = store.pending_outbox
    failures: list[str] = []

    def fails_once(*, limit: int, after_id: int = 0) -> list[OutboxMessage]:
        if not failures:
            failures.append("raised")
            raise RuntimeError("injected bug")
        return read(limit=limit, after_id=after_id)

    monkeypatch.setattr(store, "pending_outbox", fails_once)
    got: list[tuple[str, int]] = []
    pub = OutboxPublisher(store, BusConfig(outbox_poll_s=0.05, kafka=None))
    pub.subscribe(lambda topic, msg: got.append((msg["incident_id"], msg["version"])))
    pub.start()
    try:
        store.record(make_update("inc-1", 1))
        pub.notify()
        store.record(make_update("inc-1", 2))
        pub.notify()
        assert pub.flush(timeout_s=20), "the publisher stopped delivering after an error"
    finally:
        pub.stop()
    assert failures == ["raised"]
    assert got == [("inc-1", 1), ("inc-1", 2)]
    assert "RuntimeError: injected bug" in (pub.stats().last_error or "")
    assert not _outbox_threads()


def test_an_unexpected_error_starting_the_producer_is_retried(
    tmp_path: Path, broker: Broker, topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.open(StorageConfig(database_url=f"sqlite:///{tmp_path / 'v.db'}"))
    _register(store, 1)
    real_start = AIOKafkaProducer.start
    failures: list[str] = []

    async def fails_once(self: AIOKafkaProducer) -> None:
        if not failures:
            failures.append("raised")
            raise ssl.SSLError("injected handshake failure")  # an OSError, not a KafkaError
        await real_start(self)

    monkeypatch.setattr(AIOKafkaProducer, "start", fails_once)
    bus = BusConfig(
        kafka=KafkaConfig(
            bootstrap_servers=broker.bootstrap, topic_prefix=topic_prefix, retry_backoff_max_s=0.5
        ),
        outbox_poll_s=0.05,
    )
    pub = OutboxPublisher(store, bus)
    live: list[str] = []
    pub.subscribe(lambda topic, msg: live.append(msg["incident_id"]))
    pub.start()
    try:
        for update in burst(6, 1):
            store.record(update)
            pub.notify()
        assert pub.flush(timeout_s=30), "the publisher stopped after the producer failed"
    finally:
        pub.stop()
    assert failures == ["raised"]
    assert pub.stats().failed_attempts >= 1
    assert len(live) == 6
    got = consume(broker.bootstrap, [f"{topic_prefix}.incidents"], expect=6)
    assert _check_exactly_once_in_order(got, store, topic_prefix)["distinct"] == 6
    assert not _outbox_threads()
    store.close()
