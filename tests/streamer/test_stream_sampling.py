"""Sampling by stream time: unit rules and real decoded clips with the frame index drawn in."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from streamer_media import read_index
from streamer_testutil import drain, wait_for

from streamer.queue import FrameQueue
from streamer.sampler import CameraClock, DecodePolicy, Sampler
from streamer.settings import StreamerConfig
from streamer.source import SourceSpec
from streamer.supervisor import Supervisor

SRC_FPS = 25
Factory = Callable[..., tuple[Supervisor, FrameQueue]]


@pytest.mark.parametrize(
    ("fps", "pts", "expected"),
    [
        (1, [0.0, 0.5, 0.99, 1.0, 1.5, 2.04], [0.0, 1.0, 2.04]),
        (2, [0.0, 0.2, 0.52, 0.9, 1.0, 1.01], [0.0, 0.52, 1.0]),
        # a gap: targets 1.0..3.0 missed, one sample at 3.3, then the grid goes on (no burst)
        (1, [0.0, 0.5, 3.3, 3.4, 4.0], [0.0, 3.3, 4.0]),
        (5, [0.0, 0.04, 0.2, 0.24, 0.4, 0.4], [0.0, 0.2, 0.4]),
    ],
)
def test_sampler_takes_first_frame_at_or_after_each_target(
    fps: float, pts: list[float], expected: list[float]
) -> None:
    sampler = Sampler(fps)
    assert [p for p in pts if sampler.offer(p)] == expected


def test_sampler_rate_change_continues_after_last_pts() -> None:
    sampler = Sampler(1)
    assert sampler.offer(0.0)
    sampler.set_fps(5, after_pts_s=0.5)
    assert sampler.next_target_s == pytest.approx(0.6)


def test_clock_never_goes_back_across_sessions_and_resets() -> None:
    clock = CameraClock(fps=2)
    assert clock.map(10.0, live=False, frame_dur_s=0.04) == 0.0
    assert clock.map(11.0, live=False, frame_dur_s=0.04) == pytest.approx(1.0)
    assert clock.map(10.98, live=False, frame_dur_s=0.04) is None  # out of order: skipped
    clock.new_session()  # reconnect: the new stream's timestamps start anywhere
    assert clock.map(0.0, live=False, frame_dur_s=0.04) == pytest.approx(1.04)
    assert clock.gaps == 1
    # a timestamp reset inside a session (> 1 s backwards) starts a new segment
    assert clock.map(0.5, live=False, frame_dur_s=0.04) == pytest.approx(1.54)
    assert clock.map(-5.0, live=False, frame_dur_s=0.04) == pytest.approx(1.58)
    assert clock.gaps == 2


def test_live_clock_shows_the_outage_as_a_gap() -> None:
    clock = CameraClock(fps=2)
    clock.map(0.0, live=True, frame_dur_s=0.04)
    assert clock.first_wall_s is not None
    clock.first_wall_s -= 30.0  # pretend the first frame came 30 s ago
    clock.new_session()
    pts = clock.map(123.0, live=True, frame_dur_s=0.04)
    assert pts is not None and pts >= 30.0
    assert clock.wall(pts) == pytest.approx(clock.first_wall_s + pts)
    assert clock.last_gap_s >= 30.0


def test_live_clock_catches_up_with_a_slow_camera_clock() -> None:
    clock = CameraClock(fps=2)
    clock.map(0.0, live=True, frame_dur_s=0.04)
    assert clock.first_wall_s is not None
    clock.first_wall_s -= 60.0  # a minute of wall time passed, but only 1 s of stream time
    pts = clock.map(1.0, live=True, frame_dur_s=0.04)
    assert pts is not None and pts >= 60.0 and clock.gaps == 1
    assert clock.map(1.04, live=True, frame_dur_s=0.04) == pytest.approx(pts + 0.04)
    # a file never does this: its stream time is the truth
    file_clock = CameraClock(fps=2)
    file_clock.map(0.0, live=False, frame_dur_s=0.04)
    assert file_clock.first_wall_s is not None
    file_clock.first_wall_s -= 60.0
    assert file_clock.map(1.0, live=False, frame_dur_s=0.04) == pytest.approx(1.0)


def test_clock_is_used_by_one_reader_at_a_time() -> None:
    clock = CameraClock(5)
    assert clock.claim(threading.Event())  # the first reader
    stopped = threading.Event()
    stopped.set()
    assert not clock.claim(stopped)  # a stopped successor gives up instead of waiting on
    got: list[bool] = []
    successor = threading.Thread(target=lambda: got.append(clock.claim(threading.Event())))
    successor.start()
    successor.join(0.3)
    assert successor.is_alive() and got == []  # still waiting: the first reader holds it
    clock.release()
    successor.join(5)
    assert got == [True] and clock.claimed
    clock.release()
    assert not clock.claimed


def test_decode_policy_uses_keyframes_only_when_they_cover_the_rate() -> None:
    policy = DecodePolicy(1.0, allow_keyframes=True)
    modes = [policy.on_keyframe(t, 0.04) for t in (0.0, 1.0, 2.0, 3.0)]
    assert modes == ["all", "all", "keyframes", "keyframes"]
    assert policy.on_keyframe(5.0, 0.04) == "all"  # a 2 s interval: back to every frame
    fast = DecodePolicy(2.0, allow_keyframes=True)
    assert [fast.on_keyframe(t, 0.04) for t in (0.0, 1.0, 2.0, 3.0)][-1] == "all"
    # a regular GOP predicts the next keyframe; an irregular one predicts nothing
    assert fast.next_keyframe_s(0.04) == pytest.approx(4.0)
    fast.on_keyframe(4.5, 0.04)
    assert fast.next_keyframe_s(0.04) is None
    off = DecodePolicy(1.0, allow_keyframes=False)
    assert [off.on_keyframe(t, 0.04) for t in (0.0, 0.2, 0.4, 0.6)][-1] == "all"


@pytest.mark.parametrize(
    ("clip", "fps", "mode", "tolerance_s"),
    [
        # every frame decoded (or keyframes on the sampling grid): within one source frame
        ("clip_gop25", 1, "keyframes", 1 / SRC_FPS),
        ("clip_gop25", 2, "all", 1 / SRC_FPS),
        ("clip_gop25", 5, "all", 1 / SRC_FPS),
        ("clip_gop5", 1, "keyframes", 1 / SRC_FPS),
        ("clip_gop5", 5, "keyframes", 1 / SRC_FPS),
        # keyframes only, off the grid: the first keyframe at/after the target (< 1 GOP late)
        ("clip_gop5", 2, "keyframes", 5 / SRC_FPS),
    ],
)
def test_file_samples_match_stream_time_and_picture(
    request: pytest.FixtureRequest,
    supervisor_factory: Factory,
    clip: str,
    fps: int,
    mode: str,
    tolerance_s: float,
) -> None:
    path: Path = request.getfixturevalue(clip)
    sup, queue = supervisor_factory(pace=False)
    sup.add(SourceSpec("cam", str(path), fps))
    frames = drain(sup, queue)
    status = sup.statuses()["cam"]
    assert status.state == "ended"
    assert status.decode_mode == mode
    assert status.packets_decoded + status.packets_skipped == 6 * SRC_FPS
    assert status.packets_skipped > 0  # keyframes only, or GOP tails after the last sample
    assert [f.seq for f in frames] == list(range(len(frames)))
    assert len(frames) == 6 * fps  # 6 s clip: targets 0, 1/fps, ... < 6 s
    offset = frames[0].ts_s - frames[0].pts_s
    for f in frames:
        target = f.seq / fps
        assert target - 1e-6 <= f.pts_s < target + tolerance_s, (f.seq, f.pts_s)
        assert read_index(f.image) == round(f.pts_s * SRC_FPS), (f.seq, f.pts_s)
        assert f.ts_s - f.pts_s == pytest.approx(offset)  # wall = first frame's wall + pts
        assert f.image.shape == (240, 320, 3)


def test_paced_file_is_released_in_real_time(clip_gop25: Path, supervisor_factory: Factory) -> None:
    sup, queue = supervisor_factory(pace=True)
    sup.add(SourceSpec("cam", str(clip_gop25), 5))
    got: list[tuple[float, float]] = []

    def enough(frames: list) -> bool:
        got.extend((time.time(), f.ts_s) for f in frames[len(got) :])
        return len(frames) >= 6

    drain(sup, queue, until=enough, timeout_s=20)
    # never handed over before the wall time its stream time maps to
    assert all(received >= ts - 0.02 for received, ts in got)


def test_unpaced_file_is_stamped_by_stream_time_and_delivered_whole(
    clip_gop25: Path, supervisor_factory: Factory
) -> None:
    sup, queue = supervisor_factory(pace=False, per_camera=200)
    sup.add(SourceSpec("cam", str(clip_gop25), 5))
    # the reader plays the file out although nothing is taken (and without pacing)
    wait_for(sup.ended, what="file played out")
    assert queue.pending("cam") == 30  # the whole file, nothing lost or waiting for pacing
    frames = drain(sup, queue)
    st = sup.statuses()["cam"]
    assert st.state == "ended" and st.frames_sampled == 30
    assert [f.seq for f in frames] == list(range(30))
    first = frames[0]
    for f in frames:
        # wall time advances by stream time (not by when the frame was decoded or handed over)
        assert f.ts_s - first.ts_s == pytest.approx(f.pts_s - first.pts_s, abs=1e-6)
        assert f.seq / 5 - 1e-6 <= f.pts_s < f.seq / 5 + 1 / SRC_FPS
        assert read_index(f.image) == round(f.pts_s * SRC_FPS)


@pytest.mark.parametrize("fps", [2, 3, 5])
def test_skipping_gop_tails_gives_the_same_samples_as_decoding_everything(
    clip_gop25: Path, supervisor_factory: Factory, fps: int
) -> None:
    results = {}
    for skip in (True, False):
        config = StreamerConfig(skip_gop_tail=skip, keyframe_only=False)
        sup, queue = supervisor_factory(pace=False, config=config)
        sup.add(SourceSpec("cam", str(clip_gop25), fps))
        frames = drain(sup, queue)
        st = sup.statuses()["cam"]
        results[skip] = ([(f.pts_s, read_index(f.image)) for f in frames], st.packets_skipped)
    assert results[True][0] == results[False][0]
    assert results[False][1] == 0 and results[True][1] > 0
