"""Window buffer: capacity in stream seconds, eviction, history before an incident, no copies."""

from __future__ import annotations

import numpy as np
import pytest

from streamer.types import Frame
from streamer.window import WindowBuffer


def frame(pts: float, cam: str = "cam") -> Frame:
    return Frame(cam, round(pts * 2), pts, 1000.0 + pts, np.zeros((4, 6, 3), np.uint8))


def test_window_holds_last_capacity_seconds_oldest_first() -> None:
    buf = WindowBuffer("cam", capacity_s=2.0)
    for i in range(10):
        buf.push(frame(i * 0.5))
    win = buf.snapshot()
    assert [f.pts_s for f in win.frames] == [3.0, 3.5, 4.0, 4.5]
    assert win.capacity_s == 2.0 and win.newest.pts_s == 4.5
    assert win.is_full
    assert len(buf) == 4  # evicted beyond capacity (no keep_before_s)


def test_window_keeps_history_before_for_clips() -> None:
    buf = WindowBuffer("cam", capacity_s=2.0, keep_before_s=3.0)
    for i in range(20):
        buf.push(frame(i * 0.5))
    assert [f.pts_s for f in buf.snapshot().frames] == [8.0, 8.5, 9.0, 9.5]
    history = buf.history()
    assert history[0].pts_s == 5.0 and history[-1].pts_s == 9.5  # 5 s = capacity + keep_before
    assert [f.pts_s for f in buf.history(since_pts_s=8.5)] == [8.5, 9.0, 9.5]


def test_snapshot_shares_frames_without_copying() -> None:
    buf = WindowBuffer("cam", capacity_s=5.0)
    frames = [frame(i * 0.5) for i in range(4)]
    for f in frames:
        buf.push(f)
    win = buf.snapshot()
    assert all(a is b for a, b in zip(win.frames, frames, strict=True))
    assert np.shares_memory(win.frames[0].image, frames[0].image)
    buf.push(frame(2.0))
    assert len(win) == 4  # an earlier snapshot is immutable


def test_window_refuses_other_camera_and_time_going_back() -> None:
    buf = WindowBuffer("cam", capacity_s=2.0)
    buf.push(frame(1.0))
    with pytest.raises(ValueError, match="other"):
        buf.push(frame(1.5, cam="other"))
    with pytest.raises(ValueError, match="before"):
        buf.push(frame(0.5))
    buf.clear()
    assert buf.snapshot().frames == ()
    with pytest.raises(ValueError):
        WindowBuffer("cam", capacity_s=0)
