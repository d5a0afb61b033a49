"""ReportService: template at once, generated reports from a bounded worker pool."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from reports_helpers import ChatServer, Reply, completion

from reports.evidence import Evidence
from reports.service import ReportService
from reports.settings import ReportsConfig
from reports.types import Report

Factory = Callable[..., Evidence]
WAIT_S = 20.0  # stops a hang; never a timing assertion

GROUNDED = {
    "title": "Fall detected on camera Loading Dock 1",
    "summary": "A fall was detected at 14:03 in zone restricted; it lasted 14 s.",
    "severity": "high",
    "action": "Check on the person right away.",
}


class Collector:
    """on_report target that hands reports to the test thread."""

    def __init__(self) -> None:
        self.reports: queue.Queue[Report] = queue.Queue()

    def __call__(self, report: Report) -> None:
        self.reports.put(report)

    def get(self) -> Report:
        return self.reports.get(timeout=WAIT_S)


class Gate:
    """Server behaviour that holds every request until opened."""

    def __init__(self, reply: Reply) -> None:
        self.opened = threading.Event()
        self.arrived = threading.Semaphore(0)
        self.reply = reply

    def __call__(self, req: dict[str, Any]) -> Reply:
        self.arrived.release()
        self.opened.wait(WAIT_S)
        return self.reply

    def wait_arrival(self) -> None:
        assert self.arrived.acquire(timeout=WAIT_S), "request never reached the server"


def _openai(server: ChatServer, **kw: Any) -> ReportsConfig:
    return ReportsConfig.model_validate(
        {
            "backend": "openai",
            "openai": {"base_url": server.base_url, "model": "m", "timeout_s": WAIT_S},
            **kw,
        }
    )


def test_template_backend_reports_at_once_and_queues_nothing(evidence_factory: Factory) -> None:
    got = Collector()
    service = ReportService(ReportsConfig(), got)
    ev = evidence_factory()
    report = service.initial(ev)
    assert report.backend == "template" and not report.fallback_used
    assert service.backend == "template"
    service.submit(ev)
    service.stop()
    assert got.reports.empty()
    assert service.stats()["submitted"] == 0


def test_generated_report_follows_the_template(
    chat_server: ChatServer, evidence_factory: Factory
) -> None:
    gate = Gate(completion(json.dumps(GROUNDED)))
    chat_server.respond = gate
    got = Collector()
    service = ReportService(_openai(chat_server), got)
    try:
        ev = evidence_factory()
        first = service.initial(ev)
        service.submit(ev)  # returns while the server still holds the request
        gate.wait_arrival()
        assert first.backend == "template" and got.reports.empty()
        gate.opened.set()
        later = got.get()
        assert (later.backend, later.model, later.fallback_used) == ("openai", "m", False)
        assert (later.incident_id, later.incident_version) == (ev.incident_id, ev.version)
        assert later.severity is first.severity
    finally:
        gate.opened.set()
        service.stop()
    assert service.stats()["generated"] == 1


def test_full_queue_drops_and_superseded_versions_are_skipped(
    chat_server: ChatServer, evidence_factory: Factory
) -> None:
    gate = Gate(completion(json.dumps(GROUNDED)))
    chat_server.respond = gate
    got = Collector()
    service = ReportService(_openai(chat_server, workers=1, queue_size=2), got)
    try:
        service.submit(evidence_factory(version=1))  # taken by the worker, held by the server
        gate.wait_arrival()
        service.submit(evidence_factory(version=2))  # queued, then superseded by version 3
        service.submit(evidence_factory(version=3))  # queued
        service.submit(evidence_factory(version=4))  # queue full: dropped
        assert service.stats()["dropped_queue_full"] == 1
        gate.opened.set()
        versions = sorted([got.get().incident_version, got.get().incident_version])
        assert versions == [1, 3]
    finally:
        gate.opened.set()
        service.stop()
    stats = service.stats()
    assert (stats["submitted"], stats["generated"], stats["superseded"]) == (3, 2, 1)
    assert got.reports.empty()


def test_failures_come_back_as_template_with_reason(
    chat_server: ChatServer, evidence_factory: Factory
) -> None:
    chat_server.respond = lambda req: Reply(status=500, body=b"boom")
    got = Collector()
    service = ReportService(_openai(chat_server), got)
    try:
        service.submit(evidence_factory())
        report = got.get()
    finally:
        service.stop()
    assert report.fallback_used and report.backend == "template"
    assert "HTTP 500" in (report.fallback_reason or "")
    assert service.stats()["fallback"] == 1


def test_callback_errors_are_counted_and_the_worker_goes_on(
    chat_server: ChatServer, evidence_factory: Factory
) -> None:
    chat_server.respond = lambda req: completion(json.dumps(GROUNDED))
    got = Collector()
    calls = 0

    def flaky(report: Report) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("storage hiccup")
        got(report)

    service = ReportService(_openai(chat_server), flaky)
    try:
        service.submit(evidence_factory(version=1))
        service.submit(evidence_factory(version=2).model_copy(update={"incident_id": "other"}))
        assert got.get().incident_id in ("inc-42", "other")
    finally:
        service.stop()
    assert service.stats()["callback_errors"] == 1


def test_stop_drops_waiting_work_and_never_calls_back_afterwards(
    chat_server: ChatServer, evidence_factory: Factory
) -> None:
    gate = Gate(completion(json.dumps(GROUNDED)))
    chat_server.respond = gate
    got = Collector()
    service = ReportService(_openai(chat_server, workers=1), got)
    service.submit(evidence_factory())
    gate.wait_arrival()
    for i in range(3):
        service.submit(evidence_factory().model_copy(update={"incident_id": f"q{i}"}))
    service.stop(timeout_s=0.2)
    service.submit(evidence_factory())
    gate.opened.set()
    chat_server.close()  # the held request completes or fails; either way no callback
    deadline = time.monotonic() + WAIT_S
    while service.stats()["dropped_stopped"] < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    # 3 waiting + 1 submitted after stop + the one in flight when stop() gave up
    assert service.stats()["dropped_stopped"] == 5
    assert got.reports.empty()


def test_stop_returns_in_time_with_more_busy_workers_than_queue_slots(
    chat_server: ChatServer, evidence_factory: Factory
) -> None:
    gate = Gate(completion(json.dumps(GROUNDED)))
    chat_server.respond = gate
    got = Collector()
    before = set(threading.enumerate())
    service = ReportService(_openai(chat_server, workers=3, queue_size=1), got)
    workers = [
        t for t in threading.enumerate() if t not in before and t.name.startswith("vigil-reports-")
    ]
    assert len(workers) == 3
    try:
        for i in range(3):  # every worker busy with a slow generation
            service.submit(evidence_factory().model_copy(update={"incident_id": f"busy{i}"}))
            gate.wait_arrival()
        service.submit(evidence_factory().model_copy(update={"incident_id": "waiting"}))
        assert service.pending() == 1
        stopper = threading.Thread(target=service.stop, kwargs={"timeout_s": 0.2})
        stopper.start()
        stopper.join(WAIT_S)  # only stops a hang
        assert not stopper.is_alive(), "stop() blocked while every worker was busy"
        service.submit(evidence_factory().model_copy(update={"incident_id": "late"}))
    finally:
        gate.opened.set()
    deadline = time.monotonic() + WAIT_S
    while service.stats()["dropped_stopped"] < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    # 1 waiting + 1 submitted after stop + the 3 in flight when stop() gave up
    assert service.stats()["dropped_stopped"] == 5
    assert got.reports.empty()
    for thread in workers:
        thread.join(WAIT_S)  # only stops a hang
    assert not [t for t in workers if t.is_alive()], "workers never ended after stop()"


def test_unavailable_local_model_yields_fallbacks(
    tmp_path: Path, evidence_factory: Factory
) -> None:
    config = ReportsConfig.model_validate(
        {"backend": "transformers", "transformers": {"model": str(tmp_path / "nope")}}
    )
    got = Collector()
    service = ReportService(config, got)
    try:
        service.submit(evidence_factory())
        report = got.get()
    finally:
        service.stop()
    assert report.fallback_used
    assert f"model not found: {tmp_path / 'nope'}" in (report.fallback_reason or "")


def test_tiny_local_model_through_the_service(
    tiny_lm_dirs: dict[str, Path], evidence_factory: Factory
) -> None:
    config = ReportsConfig.model_validate(
        {
            "backend": "transformers",
            "transformers": {"model": str(tiny_lm_dirs["chat"]), "max_new_tokens": 16},
        }
    )
    got = Collector()
    service = ReportService(config, got)
    try:
        ev = evidence_factory()
        assert service.initial(ev).backend == "template"
        service.submit(ev)
        report = got.get()
    finally:
        service.stop()
    assert report.fallback_used and (report.fallback_reason or "").startswith("transformers (chat)")


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"backend": "gpt"}, "backend"),
        ({"workers": 0}, "workers"),
        ({"openai": {"base_url": "ftp://x"}}, "base_url"),
        ({"transformers": {"max_new_tokens": 1}}, "max_new_tokens"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_config_rejects_bad_values(data: dict[str, Any], key: str) -> None:
    with pytest.raises(ValueError, match=key):
        ReportsConfig.model_validate(data)


def test_stop_finishes_queued_generations_within_its_budget(
    chat_server: ChatServer, evidence_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    chat_server.respond = lambda req: completion(json.dumps(GROUNDED))
    got = Collector()
    service = ReportService(_openai(chat_server, workers=1), got)
    for i in range(3):
        service.submit(evidence_factory().model_copy(update={"incident_id": f"q{i}"}))
    service.stop(timeout_s=WAIT_S)
    done = []
    while not got.reports.empty():
        done.append(got.reports.get_nowait().incident_id)
    assert sorted(done) == ["q0", "q1", "q2"]  # queued at stop, still generated
    assert service.stats()["dropped_stopped"] == 0
    assert not [r for r in caplog.records if "stopped before" in r.getMessage()]


def test_generations_given_up_at_stop_are_warned_with_their_incidents(
    chat_server: ChatServer, evidence_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    gate = Gate(completion(json.dumps(GROUNDED)))
    chat_server.respond = gate
    service = ReportService(_openai(chat_server, workers=1), Collector())
    service.submit(evidence_factory().model_copy(update={"incident_id": "held"}))
    gate.wait_arrival()
    service.submit(evidence_factory().model_copy(update={"incident_id": "waiting"}))
    try:
        service.stop(timeout_s=0.2)
    finally:
        gate.opened.set()
    (warning,) = [r for r in caplog.records if "stopped before" in r.getMessage()]
    assert warning.levelname == "WARNING"
    assert "held" in warning.getMessage() and "waiting" in warning.getMessage()
