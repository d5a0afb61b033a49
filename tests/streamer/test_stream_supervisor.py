"""Supervisor on files and unreachable sources: isolation, runtime changes, clean stop."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from streamer_testutil import drain

from streamer.queue import FrameQueue
from streamer.settings import StreamerConfig
from streamer.source import SourceSpec
from streamer.state import TRANSITIONS, CameraState, InvalidTransition, StateMachine
from streamer.supervisor import Supervisor
from tests.support.wait import wait_until

Factory = Callable[..., tuple[Supervisor, FrameQueue]]


def wait_for(cond: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_missing_file_fails_clearly_and_other_camera_is_unaffected(
    clip_gop25: Path, supervisor_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="streamer")
    sup, queue = supervisor_factory(pace=False)
    sup.add(SourceSpec("missing", "/no/such/clip.mp4", 2))
    sup.add(SourceSpec("good", str(clip_gop25), 2))
    frames = drain(sup, queue)
    st = sup.statuses()
    assert st["missing"].state == CameraState.FAILED
    assert "not found" in st["missing"].reason and "/no/such/clip.mp4" in st["missing"].reason
    assert st["good"].state == CameraState.ENDED
    assert [f.seq for f in frames if f.camera_id == "good"] == list(range(12))
    assert not [f for f in frames if f.camera_id == "missing"]
    lines = [r.getMessage() for r in caplog.records if "missing" in r.getMessage()]
    failed = [m for m in lines if "failed" in m]
    assert len(failed) == 1 and "/no/such/clip.mp4" in failed[0]


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://cam.example/stream", "unsupported URL scheme"),
        ("rtsp:///nohost", "no host"),
        ("rtsp://cam:notaport/x", "malformed"),
        ("", "malformed"),
    ],
)
def test_malformed_urls_fail_at_once(url: str, words: str, supervisor_factory: Factory) -> None:
    sup, _ = supervisor_factory()
    sup.add(SourceSpec("bad", url, 1))
    wait_for(sup.ended)
    st = sup.statuses()["bad"]
    assert st.state == CameraState.FAILED and words in st.reason


def test_unreachable_url_goes_offline_with_password_masked(supervisor_factory: Factory) -> None:
    sup, _ = supervisor_factory()
    sup.add(SourceSpec("cam", "rtsp://admin:s3cr3t-pw@127.0.0.1:1/stream", 1))
    wait_for(lambda: sup.statuses()["cam"].last_error is not None)
    st = sup.statuses()["cam"]
    assert st.state in (CameraState.OFFLINE, CameraState.STARTING)
    assert "connection refused" in (st.last_error or "")
    text = repr(st)
    assert "s3cr3t-pw" not in text and "admin:***@127.0.0.1" in text
    assert not sup.ended()  # live sources never end


def test_update_restarts_one_camera_and_keeps_its_timeline(
    clip_gop25: Path, supervisor_factory: Factory
) -> None:
    sup, queue = supervisor_factory(pace=False)
    sup.add(SourceSpec("a", str(clip_gop25), 1))
    sup.add(SourceSpec("b", str(clip_gop25), 2))
    before = drain(sup, queue)
    sup.update(SourceSpec("a", str(clip_gop25), 5))
    after = drain(sup, queue)
    a_before = [f for f in before if f.camera_id == "a"]
    a_after = [f for f in after if f.camera_id == "a"]
    assert len(a_before) == 6 and len(a_after) == 30
    assert a_after[0].seq == a_before[-1].seq + 1  # numbering goes on
    assert a_after[0].pts_s > a_before[-1].pts_s  # stream time never goes back
    assert not [f for f in after if f.camera_id == "b"]  # b was not restarted
    assert sup.statuses()["b"].frames_sampled == 12


def test_remove_stops_one_camera_and_others_go_on(
    clip_gop25: Path, supervisor_factory: Factory
) -> None:
    sup, queue = supervisor_factory(pace=True)
    sup.add(SourceSpec("a", str(clip_gop25), 5))
    sup.add(SourceSpec("b", str(clip_gop25), 5))
    drain(sup, queue, until=lambda fs: len(fs) >= 4)
    sup.remove("a")
    assert sup.cameras() == ["b"] and queue.pending("a") == 0
    frames = drain(sup, queue, until=lambda fs: len(fs) >= 4)
    assert {f.camera_id for f in frames} == {"b"}
    assert [s.camera_id for s in sup.statuses().values()] == ["b"]
    with pytest.raises(KeyError):
        sup.remove("a")
    with pytest.raises(ValueError):
        sup.add(SourceSpec("b", str(clip_gop25), 5))


def test_stop_joins_every_reader_thread(clip_gop25: Path) -> None:
    queue = FrameQueue(per_camera=1)
    sup = Supervisor(config=StreamerConfig(), queue=queue, pace=True)
    for i in range(3):
        sup.add(SourceSpec(f"c{i}", str(clip_gop25), 5))  # blocked on a full queue ("wait")
    sup.add(SourceSpec("net", "rtsp://127.0.0.1:1/x", 1))  # in reconnect backoff
    wait_until(
        lambda: (
            sup.statuses()["net"].state is CameraState.OFFLINE
            and all(sup.statuses()[f"c{i}"].frames_sampled >= 1 for i in range(3))
        ),
        timeout_s=30,
        what="the readers blocked on the full queue and the network camera in backoff",
    )
    sup.stop(timeout_s=5)
    mine = {"streamer-c0", "streamer-c1", "streamer-c2", "streamer-net"}
    assert not [t for t in threading.enumerate() if t.name in mine]
    assert {s.state for s in sup.statuses().values()} == {CameraState.STOPPED}
    with pytest.raises(RuntimeError):
        sup.add(SourceSpec("late", str(clip_gop25), 1))


def test_state_machine_allows_only_listed_transitions(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="streamer")
    m = StateMachine("cam")
    assert m.to(CameraState.ONLINE, "first frame")
    assert not m.to(CameraState.ONLINE, "again")  # same state: no-op, no log line
    with pytest.raises(InvalidTransition):
        m.to(CameraState.STARTING, "skip offline")
    assert m.to(CameraState.OFFLINE, "server closed")
    assert [r.getMessage() for r in caplog.records] == [
        "camera cam: starting -> online (first frame)",
        "camera cam: online -> offline (server closed)",
    ]
    assert TRANSITIONS[CameraState.ENDED] == frozenset()
    assert all(
        CameraState.STOPPED in TRANSITIONS[s]
        for s in TRANSITIONS
        if s not in (CameraState.ENDED, CameraState.STOPPED)
    )


def test_a_slow_consumer_is_not_a_stalled_source(clip_gop25: Path) -> None:
    queue = FrameQueue(per_camera=1)
    sup = Supervisor(config=StreamerConfig(stall_s=0.3), queue=queue, pace=False)
    try:
        sup.add(SourceSpec("cam", str(clip_gop25), 5))
        wait_for(lambda: queue.pending("cam") == 1)  # the file reader now waits for room
        time.sleep(1.0)  # over three times stall_s without a packet read
        assert sup.statuses()["cam"].state == CameraState.ONLINE
        assert len(queue.get_batch(1, 1.0)) == 1
    finally:
        sup.stop()


def test_backoff_doubles_to_its_cap_with_jitter_and_resets() -> None:
    import random

    from streamer.backoff import Backoff
    from streamer.settings import ReconnectConfig

    exact = Backoff(ReconnectConfig(initial_s=0.5, max_s=30, factor=2, jitter=0))
    assert [exact.next() for _ in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    exact.reset()
    assert exact.next() == 0.5
    jittered = Backoff(ReconnectConfig(initial_s=1, max_s=8, jitter=0.2), random.Random(3))
    delays = [jittered.next() for _ in range(6)]
    for got, base in zip(delays, [1, 2, 4, 8, 8, 8], strict=True):
        assert base * 0.8 <= got <= base * 1.2
    assert len(set(delays[3:])) == 3  # jitter spreads reconnects of many cameras
