"""Files as users have them (B-frames, no duration, no frame rate, odd time bases, truncated):
each plays once and ends; frames without a usable time are dropped and counted, never fatal."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest
from streamer_media import write_bframe_clip
from streamer_testutil import RtspServer, drain, live_launch

from streamer.queue import FrameQueue
from streamer.sampler import CameraClock
from streamer.settings import ReconnectConfig, StreamerConfig
from streamer.source import SourceSpec
from streamer.state import CameraState
from streamer.supervisor import Supervisor
from tests.support.wait import wait_until

Factory = Callable[..., tuple[Supervisor, FrameQueue]]


def _truncated(src: Path, dst: Path, keep: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * keep)])
    return dst


@pytest.fixture(scope="module")
def user_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("user-files")
    files = {
        "bframes.mp4": write_bframe_clip(d / "bframes.mp4"),
        "odd-size.mp4": write_bframe_clip(d / "odd-size.mp4", width=322, height=242),
        "bframes.mkv": write_bframe_clip(d / "bframes.mkv", fmt="matroska"),
        "no-duration.ts": write_bframe_clip(d / "no-duration.ts", fmt="mpegts"),
        "no-rate.h264": write_bframe_clip(d / "no-rate.h264", fmt="h264"),
        "ntsc-timebase.mp4": write_bframe_clip(
            d / "ntsc-timebase.mp4", fps=30, frames=120, time_base=Fraction(1001, 30000)
        ),
    }
    files["truncated.ts"] = _truncated(files["no-duration.ts"], d / "truncated.ts", 0.7)
    return files


@pytest.mark.parametrize(
    "name",
    [
        "bframes.mp4",
        "odd-size.mp4",
        "bframes.mkv",
        "no-duration.ts",
        "no-rate.h264",
        "ntsc-timebase.mp4",
        "truncated.ts",
    ],
)
def test_a_file_plays_once_and_ends(
    user_files: dict[str, Path], supervisor_factory: Factory, name: str
) -> None:
    sup, queue = supervisor_factory(pace=False, per_camera=1000)
    sup.add(SourceSpec("cam", str(user_files[name]), 5))
    frames = drain(sup, queue, timeout_s=60)  # fails if the file is read again and again
    st = sup.statuses()["cam"]
    assert st.state == CameraState.ENDED, (st.state, st.last_error)
    assert st.reconnects == 0
    assert len(frames) >= 5
    assert [f.seq for f in frames] == list(range(len(frames)))
    pts = [f.pts_s for f in frames]
    assert all(math.isfinite(p) for p in pts) and pts == sorted(pts)
    assert all(math.isfinite(f.ts_s) for f in frames)


def test_a_whole_bframe_file_gives_every_sample(
    user_files: dict[str, Path], supervisor_factory: Factory
) -> None:
    sup, queue = supervisor_factory(pace=False, per_camera=1000)
    sup.add(SourceSpec("cam", str(user_files["bframes.mp4"]), 5))
    frames = drain(sup, queue, timeout_s=60)
    assert len(frames) == 20  # 4 s at 5 fps
    assert sup.statuses()["cam"].state == CameraState.ENDED


def test_the_clock_never_takes_a_non_finite_time() -> None:
    clock = CameraClock(5)
    assert clock.map(0.0, live=False, frame_dur_s=0.04) == 0.0
    assert clock.map(float("nan"), live=False, frame_dur_s=0.04) is None
    assert clock.map(float("inf"), live=True, frame_dur_s=0.04) is None
    clock.new_session()
    assert clock.map(float("nan"), live=False, frame_dur_s=0.04) is None
    after = clock.map(3.0, live=False, frame_dur_s=0.04)
    assert after is not None and math.isfinite(after) and after > 0


def test_a_bframe_rtsp_camera_recovers_after_a_server_restart(
    rtsp_server_factory: Callable[..., RtspServer],
    supervisor_factory: Factory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="streamer")
    server = rtsp_server_factory({"/live": live_launch(bframes=2)}, shared=("/live",))
    config = StreamerConfig(reconnect=ReconnectConfig(initial_s=0.2, max_s=1.0))
    sup, queue = supervisor_factory(config=config)
    sup.add(SourceSpec("cam", server.url("/live"), 5))
    drain(sup, queue, until=lambda fr: len(fr) >= 5, timeout_s=30)
    server.kill()
    wait_until(
        lambda: sup.statuses()["cam"].state is not CameraState.ONLINE,
        timeout_s=30,
        what="the camera to notice that the server went away",
    )
    server.start()
    back = drain(sup, queue, until=lambda fr: len(fr) >= 15, timeout_s=40)
    assert sup.statuses()["cam"].state == CameraState.ONLINE
    assert all(math.isfinite(f.pts_s) for f in back)
    # online for good after the return: no online -> offline flapping on later sessions
    settled = time.time()
    drain(sup, queue, until=lambda fr: len(fr) >= 10, timeout_s=30)
    flaps = [
        r.getMessage()
        for r in caplog.records
        if r.created > settled and "online -> offline" in r.getMessage()
    ]
    assert flaps == [] and sup.statuses()["cam"].state == CameraState.ONLINE


def _with_creation_time(src: Path, dst: Path, when: str) -> Path:
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        out.metadata["creation_time"] = when
        istream = inp.streams.video[0]
        ostream = out.add_stream_from_template(istream)
        for packet in inp.demux(istream):
            if packet.dts is None:
                continue
            packet.stream = ostream
            out.mux(packet)
    return dst


def test_a_file_is_stamped_from_its_creation_time(
    user_files: dict[str, Path], supervisor_factory: Factory, tmp_path: Path
) -> None:
    import datetime as dt

    clip = _with_creation_time(
        user_files["bframes.mp4"], tmp_path / "dated.mp4", "2026-11-30T14:05:00.000000Z"
    )
    anchor = dt.datetime(2026, 11, 30, 14, 5, tzinfo=dt.UTC).timestamp()
    sup, queue = supervisor_factory(pace=False, per_camera=1000)
    sup.add(SourceSpec("cam", str(clip), 5))
    frames = drain(sup, queue, timeout_s=60)
    assert frames[0].ts_s == pytest.approx(anchor + frames[0].pts_s)
    assert all(f.ts_s == pytest.approx(anchor + f.pts_s) for f in frames)


def test_a_configured_start_time_wins_and_without_either_it_is_now(
    user_files: dict[str, Path], supervisor_factory: Factory
) -> None:
    sup, queue = supervisor_factory(pace=False, per_camera=1000)
    sup.add(SourceSpec("given", str(user_files["bframes.mp4"]), 5, start_wall_s=1_000_000.0))
    before = time.time()
    sup.add(SourceSpec("now", str(user_files["bframes.mkv"]), 5))
    frames = drain(sup, queue, timeout_s=60)
    given = [f for f in frames if f.camera_id == "given"]
    now = [f for f in frames if f.camera_id == "now"]
    assert given[0].ts_s == pytest.approx(1_000_000.0 + given[0].pts_s)
    assert before - 1 <= now[0].ts_s - now[0].pts_s <= time.time()
