"""The cross-camera batcher: routing under concurrency, batch limits, drops, failures, close."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from engines.batcher import BatchFailed, CrossCameraBatcher, Dropped

TIMEOUT_S = 30.0  # stops hangs only


class Model:
    """A 'model' whose output row identifies its input: row -> [2 * value, batch size]."""

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.threads: set[str] = set()
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.entered.set()
        self.gate.wait(TIMEOUT_S)
        self.batches.append(len(x))
        self.threads.add(threading.current_thread().name)
        return np.stack([2.0 * x[:, 0], np.full(len(x), float(len(x)))], axis=1)


def test_outputs_route_back_to_their_camera_under_concurrency() -> None:
    model = Model()
    cams, per_cam = 8, 40
    with CrossCameraBatcher(model, max_batch=16, max_wait_ms=2.0, queue_size=10_000) as b:

        def camera(c: int) -> list[tuple[float, float]]:
            results = []
            for k in range(per_cam):
                v = float(c * 1000 + k)
                fut = b.submit(f"cam{c}", np.array([v, 0.0], np.float32))
                results.append((v, float(fut.result(TIMEOUT_S)[0])))
            return results

        with ThreadPoolExecutor(cams) as pool:
            out = [r for rs in pool.map(camera, range(cams)) for r in rs]
        stats = b.stats()
    assert len(out) == cams * per_cam
    assert all(got == 2 * v for v, got in out)
    assert stats.completed == stats.submitted == cams * per_cam
    assert stats.dropped_total == 0
    assert max(model.batches) <= 16
    assert model.threads == {"batcher"}  # the model only ever runs on the worker thread


def test_frames_waiting_while_a_batch_runs_form_the_next_batch() -> None:
    model = Model()
    model.gate.clear()
    with CrossCameraBatcher(model, max_batch=8, max_wait_ms=200.0, queue_size=100) as b:
        first = b.submit("a", np.array([1.0, 0.0], np.float32), flush=True)
        assert model.entered.wait(TIMEOUT_S)  # the worker is inside the model with batch [a]
        futs = [b.submit(f"cam{i}", np.array([float(i), 0.0], np.float32)) for i in range(12)]
        model.gate.set()
        assert first.result(TIMEOUT_S)[1] == 1.0
        sizes = [f.result(TIMEOUT_S)[1] for f in futs]
    # 12 waiting frames: a full batch of 8 at once (no max_wait), then the remaining 4.
    assert sizes == [8.0] * 8 + [4.0] * 4
    assert [f.result()[0] for f in futs] == [2.0 * i for i in range(12)]


def test_max_wait_runs_a_partial_batch() -> None:
    model = Model()
    with CrossCameraBatcher(model, max_batch=64, max_wait_ms=20.0) as b:
        futs = [b.submit("a", np.array([float(i), 0.0], np.float32)) for i in range(3)]
        assert [f.result(TIMEOUT_S)[0] for f in futs] == [0.0, 2.0, 4.0]
    assert sum(model.batches) == 3 and max(model.batches) <= 3


def test_full_queue_drops_the_oldest_and_counts_per_camera() -> None:
    model = Model()
    model.gate.clear()
    b = CrossCameraBatcher(model, max_batch=4, max_wait_ms=200.0, queue_size=3).start()
    try:
        b.submit("x", np.zeros(2, np.float32), flush=True)
        assert model.entered.wait(TIMEOUT_S)
        futs = [
            b.submit(cam, np.array([float(i), 0.0], np.float32))
            for i, cam in enumerate(["a", "a", "b", "b", "c"])
        ]
        assert b.pending() == 3
        for f in futs[:2]:
            with pytest.raises(Dropped, match="queue_full"):
                f.result(TIMEOUT_S)
        model.gate.set()
        assert [f.result(TIMEOUT_S)[0] for f in futs[2:]] == [4.0, 6.0, 8.0]
        st = b.stats()
        assert st.dropped == {"queue_full:a": 2}
        assert st.dropped_total == 2
        assert st.completed == 4
    finally:
        b.close()


def test_a_failing_batch_fails_only_its_inputs() -> None:
    calls = []

    def flaky(x: np.ndarray) -> np.ndarray:
        calls.append(len(x))
        if len(calls) == 1:
            raise RuntimeError("CUDA out of memory")
        return x * 3

    with CrossCameraBatcher(flaky, max_batch=8, max_wait_ms=0.0) as b:
        bad = b.submit("a", np.ones(2, np.float32), flush=True)
        with pytest.raises(BatchFailed, match="CUDA out of memory"):
            bad.result(TIMEOUT_S)
        good = b.submit("a", np.ones(2, np.float32), flush=True)
        np.testing.assert_allclose(good.result(TIMEOUT_S), [3.0, 3.0])
        assert b.stats().failed == 1


def test_wrong_row_count_is_a_failure_not_a_misroute() -> None:
    with CrossCameraBatcher(lambda x: x[:1], max_batch=8, max_wait_ms=50.0) as b:
        futs = b.submit_many([("a", np.zeros(2, np.float32)), ("b", np.zeros(2, np.float32))])
        for f in futs:
            with pytest.raises(BatchFailed, match="1 rows for 2 inputs"):
                f.result(TIMEOUT_S)


def test_inputs_of_different_shapes_run_in_separate_groups() -> None:
    seen: list[tuple[int, ...]] = []

    def run(x: np.ndarray) -> np.ndarray:
        seen.append(x.shape)
        return x.reshape(len(x), -1).sum(1)

    with CrossCameraBatcher(run, max_batch=8, max_wait_ms=50.0) as b:
        futs = b.submit_many(
            [
                ("a", np.ones((2,), np.float32)),
                ("b", np.ones((3,), np.float32)),
                ("c", np.ones((2,), np.float32)),
            ]
        )
        assert [float(f.result(TIMEOUT_S)) for f in futs] == [2.0, 3.0, 2.0]
    assert sorted(seen) == [(1, 3), (2, 2)]


def test_close_drains_or_drops() -> None:
    model = Model()
    model.gate.clear()
    b = CrossCameraBatcher(model, max_batch=1, max_wait_ms=0.0).start()
    first = b.submit("a", np.zeros(2, np.float32))
    assert model.entered.wait(TIMEOUT_S)
    rest = [b.submit("a", np.ones(2, np.float32)) for _ in range(3)]
    threading.Timer(0.05, model.gate.set).start()
    b.close(drain=True)
    assert first.result(TIMEOUT_S) is not None
    assert all(f.result(TIMEOUT_S)[0] == 2.0 for f in rest)
    with pytest.raises(RuntimeError, match="closed"):
        b.submit("a", np.zeros(2, np.float32))

    model2 = Model()
    model2.gate.clear()
    b2 = CrossCameraBatcher(model2, max_batch=1, max_wait_ms=0.0).start()
    b2.submit("a", np.zeros(2, np.float32))
    assert model2.entered.wait(TIMEOUT_S)
    pending = b2.submit("b", np.zeros(2, np.float32))
    threading.Timer(0.05, model2.gate.set).start()
    b2.close(drain=False)
    with pytest.raises(Dropped, match="closed"):
        pending.result(TIMEOUT_S)
    assert b2.stats().dropped == {"closed:b": 1}
