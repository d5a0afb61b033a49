"""LogThrottle: at most one message per interval per key, the rest counted."""

from __future__ import annotations

import logging
import threading

import pytest

from streamer.throttle import LogThrottle


class _Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_first_call_passes_then_once_per_interval() -> None:
    clock = _Clock()
    throttle = LogThrottle(10.0, clock=clock)
    assert throttle.ready()
    assert not throttle.ready()
    clock.t += 9.99
    assert not throttle.ready()
    clock.t += 0.01  # exactly 10 s after the first: passes
    assert throttle.ready()
    assert not throttle.ready()
    assert throttle.suppressed() == 3


def test_first_call_passes_even_at_clock_zero() -> None:
    throttle = LogThrottle(60.0, clock=lambda: 0.0)
    assert throttle.ready()
    assert not throttle.ready()


def test_keys_are_throttled_apart() -> None:
    clock = _Clock()
    throttle = LogThrottle(5.0, clock=clock)
    assert throttle.ready("cam-a")
    assert throttle.ready("cam-b")
    assert not throttle.ready("cam-a")
    assert throttle.ready()  # the default key is a key of its own
    assert throttle.suppressed("cam-a") == 1
    assert throttle.suppressed("cam-b") == 0
    clock.t += 5.0
    assert throttle.ready("cam-a")


def test_zero_interval_lets_everything_through() -> None:
    throttle = LogThrottle(0.0, clock=lambda: 1.0)
    assert all(throttle.ready() for _ in range(5))
    assert throttle.suppressed() == 0


def test_negative_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="interval_s"):
        LogThrottle(-1.0)


def test_log_emits_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    clock = _Clock()
    throttle = LogThrottle(10.0, clock=clock)
    logger = logging.getLogger("test.throttle")
    with caplog.at_level(logging.WARNING, logger="test.throttle"):
        assert throttle.log(logger, logging.WARNING, "broker down (%s)", "refused")
        assert not throttle.log(logger, logging.WARNING, "broker down (%s)", "refused")
        clock.t += 10.0
        try:
            raise OSError("boom")
        except OSError:
            assert throttle.log(logger, logging.ERROR, "failed %d", 2, exc_info=True)
    assert [r.getMessage() for r in caplog.records] == ["broker down (refused)", "failed 2"]
    assert caplog.records[1].levelno == logging.ERROR
    assert caplog.records[1].exc_info is not None
    assert throttle.suppressed() == 1


def test_threads_get_one_pass_per_interval() -> None:
    throttle = LogThrottle(3600.0)
    passed: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(200):
            ok = throttle.ready()
            with lock:
                passed.append(ok)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert passed.count(True) == 1
    assert throttle.suppressed() == 799
