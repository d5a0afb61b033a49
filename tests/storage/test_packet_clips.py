"""Full-rate clips from the camera's packets: remuxed H.264 (B-frames, MP4 and TS), other
codecs decoded and re-encoded, the buffer's span and size limits, and the reader feeding it."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "streamer"))
from streamer_media import read_index, write_bframe_clip, write_clip

from storage.media import MediaStore
from storage.settings import StorageConfig
from streamer.prebuffer import PacketBuffer

OFFSET = 100.0  # stream time = raw time + OFFSET in these tests


def _fill(path: Path, *, keep_s: float = 60.0, max_bytes: int = 10**8) -> PacketBuffer:
    buf = PacketBuffer("cam", keep_s=keep_s, max_bytes=max_bytes)
    with av.open(str(path)) as inp:
        st = inp.streams.video[0]
        assert buf.begin(st)
        for p in inp.demux(st):
            if p.size == 0:
                continue
            buf.add(p)
            if p.pts is not None:
                raw = float(p.pts * st.time_base)
                buf.note_time(raw, raw + OFFSET)
    return buf


def _decode(path: Path) -> tuple[list[int], float]:
    with av.open(str(path)) as inp:
        st = inp.streams.video[0]
        idx = [read_index(f.to_ndarray(format="bgr24")) for f in inp.decode(st)]
        rate = float(st.average_rate or 0)
    return idx, rate


def _mpeg4_clip(path: Path, frames: int = 100, fps: int = 25) -> Path:
    from streamer_media import frame_image

    with av.open(str(path), "w", format="mp4") as out:
        s = out.add_stream("mpeg4", rate=fps)
        s.width, s.height, s.pix_fmt = 320, 240, "yuv420p"
        s.codec_context.time_base = Fraction(1, fps)
        s.options = {"g": "25"}
        s.bit_rate = 2_000_000
        for i in range(frames):
            f = av.VideoFrame.from_ndarray(frame_image(i, 320, 240), format="bgr24")
            f.pts = i
            f.time_base = Fraction(1, fps)
            out.mux(s.encode(f))
        out.mux(s.encode(None))
    return path


@pytest.mark.parametrize("fmt", ["mp4", "mpegts"])
def test_h264_with_b_frames_is_remuxed_at_the_full_frame_rate(tmp_path: Path, fmt: str) -> None:
    src = write_bframe_clip(tmp_path / f"b.{fmt}", fmt=fmt, frames=200, bframes=3)
    buf = _fill(src)
    clip = buf.clip(OFFSET + 3.0, OFFSET + 5.0)
    assert clip is not None and clip.codec == "h264" and clip.packets[0].key
    assert clip.start_pts_s <= OFFSET + 3.0 + 1e-6  # from the keyframe at or before the start
    media = MediaStore(StorageConfig(media_dir=str(tmp_path / "media")))
    ref = media.save_packet_clip("inc-1", clip, wall_offset_s=1.7e9)
    assert ref.kind == "clip" and ref.width == 320 and ref.height == 240
    assert ref.ts_s == pytest.approx(1.7e9 + clip.start_pts_s)
    idx, rate = _decode(tmp_path / "media" / ref.path)
    assert rate == pytest.approx(25, abs=0.5)
    # every source frame from the keyframe to the end, in order, none missing
    with av.open(str(src)) as inp:
        t0 = next(inp.decode(video=0)).time  # the file's first frame (B-frame files: > 0)
    first = round((clip.start_pts_s - OFFSET - t0) * 25)
    assert idx[0] == first and idx == list(range(first, first + len(idx)))
    assert first <= 3 * 25 and idx[-1] >= round((5.0 - t0) * 25) - 1
    assert ref.duration_s == pytest.approx(len(idx) / 25, abs=0.15)


def test_other_codecs_are_decoded_and_encoded_to_h264(tmp_path: Path) -> None:
    src = _mpeg4_clip(tmp_path / "m4.mp4")
    buf = _fill(src)
    clip = buf.clip(OFFSET + 1.0, OFFSET + 3.0)
    assert clip is not None and clip.codec == "mpeg4"
    media = MediaStore(StorageConfig(media_dir=str(tmp_path / "media")))
    ref = media.save_packet_clip("inc-2", clip, wall_offset_s=0.0)
    out = tmp_path / "media" / ref.path
    with av.open(str(out)) as inp:
        assert inp.streams.video[0].codec_context.name == "h264"
    idx, rate = _decode(out)
    assert rate == pytest.approx(25, abs=0.5)
    assert len(idx) >= 2 * 25 and np.all(np.diff(idx) == 1)


def test_buffer_keeps_whole_gops_of_the_last_seconds_within_its_size(tmp_path: Path) -> None:
    src = write_clip(tmp_path / "g.mp4", seconds=10, gop=25)
    buf = _fill(src, keep_s=3.0)
    span, count, size = buf.stats()
    assert 3.0 <= span < 4.0 + 1e-6 and count >= 75  # whole 1 s GOPs covering >= 3 s
    clip = buf.clip(OFFSET + 1.0, OFFSET + 9.0)  # its start is no longer held
    assert clip is not None and clip.start_pts_s == pytest.approx(OFFSET + 6.0)
    assert buf.clip(OFFSET + 0.0, OFFSET + 2.0) is None  # nothing of that span is left
    small = _fill(src, keep_s=30.0, max_bytes=size // 3)
    assert small.stats()[2] <= size // 3 + 20_000  # the size limit holds, by whole GOPs
    tiny = _fill(src, keep_s=30.0, max_bytes=100)
    assert tiny.clip(OFFSET, OFFSET + 10) is None and tiny.dropped_oversize > 0


def test_packets_before_the_first_frame_time_are_placed_once_it_is_known(tmp_path: Path) -> None:
    src = write_clip(tmp_path / "g.mp4", seconds=3, gop=25)
    buf = PacketBuffer("cam", keep_s=60, max_bytes=10**8)
    with av.open(str(src)) as inp:
        st = inp.streams.video[0]
        buf.begin(st)
        packets = [p for p in inp.demux(st) if p.size]
        for p in packets[:10]:
            buf.add(p)
        assert buf.stats()[1] == 0  # not placed in stream time yet
        buf.note_time(0.0, 50.0)
        for p in packets[10:]:
            buf.add(p)
    clip = buf.clip(50.0, 53.0)
    assert clip is not None and len(clip.packets) == len(packets)
    assert clip.start_pts_s == pytest.approx(50.0)


def test_without_full_rate_clips_no_packets_are_kept(tmp_path: Path) -> None:
    from streamer.queue import FrameQueue
    from streamer.settings import StreamerConfig
    from streamer.source import SourceSpec
    from streamer.supervisor import Supervisor

    src = write_clip(tmp_path / "g.mp4", seconds=2, gop=25)
    for seconds, kept in ((0.0, False), (12.0, True)):
        sup = Supervisor(
            config=StreamerConfig(),
            queue=FrameQueue(),
            packet_buffer_s=seconds,
            packet_buffer_bytes=1 << 20,
        )
        try:
            sup.add(SourceSpec("cam", str(src), 2))
            assert (sup.packet_buffer("cam") is not None) is kept
        finally:
            sup.stop(timeout_s=10)
