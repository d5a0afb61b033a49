"""The clock stages share."""

from __future__ import annotations

import time

import pytest

from streamer.clock import SYSTEM_CLOCK, ManualClock


def test_system_clock_reads_the_process_clocks() -> None:
    before = time.time()
    assert before - 1 <= SYSTEM_CLOCK.wall() <= time.time() + 1
    a = SYSTEM_CLOCK.monotonic()
    assert SYSTEM_CLOCK.monotonic() >= a


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(wall_s=1000.0, monotonic_s=5.0)
    assert (clock.wall(), clock.monotonic()) == (1000.0, 5.0)
    clock.advance(2.5)
    assert (clock.wall(), clock.monotonic()) == (1002.5, 7.5)
    with pytest.raises(ValueError):
        clock.advance(-1)
