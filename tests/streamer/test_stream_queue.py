"""The frame queue: named backpressure strategies, drop counting, fairness, order."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from streamer.queue import QUEUE_FULL, FrameQueue
from streamer.types import Frame

IMG = np.zeros((2, 2, 3), np.uint8)


def frame(cam: str, seq: int) -> Frame:
    return Frame(cam, seq, seq * 0.5, 100.0 + seq * 0.5, IMG)


@pytest.mark.parametrize(
    ("strategy", "kept"),
    [("drop_oldest", [6, 7, 8, 9]), ("drop_newest", [0, 1, 2, 3])],
)
def test_full_lane_drops_by_strategy_and_counts(strategy: str, kept: list[int]) -> None:
    q = FrameQueue(per_camera=4)
    for i in range(10):
        q.put(frame("a", i), strategy)  # type: ignore[arg-type]
    q.put(frame("b", 0), strategy)  # type: ignore[arg-type]
    got = q.get_batch(100, 0)
    assert [f.seq for f in got if f.camera_id == "a"] == kept
    assert q.drops == {("a", QUEUE_FULL): 6}
    assert q.pending() == 0


def test_wait_strategy_blocks_until_consumed_and_loses_nothing() -> None:
    q = FrameQueue(per_camera=2)
    produced = threading.Event()

    def produce() -> None:
        for i in range(20):
            assert q.put(frame("f", i), "wait")
        produced.set()

    t = threading.Thread(target=produce)
    t.start()
    got: list[int] = []
    while len(got) < 20:
        got += [f.seq for f in q.get_batch(3, 1.0)]
        assert q.pending("f") <= 2
    t.join(5)
    assert produced.is_set() and got == list(range(20)) and q.drops == {}


def test_wait_strategy_gives_up_when_stopped() -> None:
    q = FrameQueue(per_camera=1)
    q.put(frame("f", 0), "wait")
    stop = threading.Event()
    result: list[bool] = []
    t = threading.Thread(target=lambda: result.append(q.put(frame("f", 1), "wait", stop)))
    t.start()
    stop.set()
    t.join(5)
    assert result == [False] and not t.is_alive()


def test_batches_are_fair_across_cameras_and_ordered_within() -> None:
    q = FrameQueue(per_camera=10)
    for i in range(6):
        q.put(frame("busy", i))
    q.put(frame("quiet", 0))
    first = q.get_batch(3, 0)
    assert sorted(f.camera_id for f in first) == ["busy", "busy", "quiet"]
    rest = q.get_batch(10, 0)
    busy = [f.seq for f in first + rest if f.camera_id == "busy"]
    assert busy == list(range(6))


def test_get_batch_times_out_empty_and_wakes_on_put() -> None:
    q = FrameQueue()
    assert q.get_batch(4, 0.05) == []
    timer = threading.Timer(0.05, lambda: q.put(frame("a", 0)))
    timer.start()
    got = q.get_batch(4, 5.0)
    timer.join()
    assert [f.seq for f in got] == [0]


def test_discard_forgets_a_camera_and_bad_arguments_fail() -> None:
    q = FrameQueue()
    q.put(frame("a", 0))
    q.put(frame("b", 0))
    assert q.discard("a") == 1
    assert [f.camera_id for f in q.get_batch(4, 0)] == ["b"]
    q.record_drop("b", "decode_error", 2)
    assert q.drops_of("b") == {"decode_error": 2}
    with pytest.raises(ValueError):
        q.put(frame("a", 1), "bogus")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        FrameQueue(per_camera=0)


@pytest.mark.parametrize("strategy", ["drop_oldest", "drop_newest", "wait"])
def test_a_stopped_producer_is_refused_whatever_the_strategy(strategy: str) -> None:
    q = FrameQueue(per_camera=4)
    stop = threading.Event()
    assert q.put(frame("a", 0), strategy, stop)  # type: ignore[arg-type]
    stop.set()  # the supervisor stops the reader (its join may time out) ...
    assert q.discard("a") == 1  # ... and forgets its frames
    assert not q.put(frame("a", 1), strategy, stop)  # type: ignore[arg-type]
    assert q.pending("a") == 0 and q.get_batch(4, 0) == []  # the lane is not recreated
    assert q.drops == {}  # a refused frame of a stopped reader is no queue drop
    assert q.put(frame("a", 2), strategy, threading.Event())  # type: ignore[arg-type]
    assert [f.seq for f in q.get_batch(4, 0)] == [2]  # a new reader of the camera is served
