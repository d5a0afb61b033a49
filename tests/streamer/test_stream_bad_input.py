"""Bad input: each gives a clear state and reason; none crashes the process or another camera."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import av.error
import numpy as np
import pytest
from streamer_media import read_index, write_clip
from streamer_testutil import RtspServer, drain, live_launch

from streamer.masking import mask_text, mask_url
from streamer.queue import FrameQueue
from streamer.settings import StreamerConfig
from streamer.source import SourceKind, SourceSpec, classify_error, parse_source
from streamer.state import CameraState
from streamer.supervisor import Supervisor

Factory = Callable[..., tuple[Supervisor, FrameQueue]]
URL = "rtsp://admin:pa55@10.0.0.5/stream1"


@pytest.fixture(scope="module")
def bad_media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad-media")
    rng = np.random.default_rng(7)
    audio = d / "audio.m4a"
    with av.open(str(audio), "w") as out:
        stream = out.add_stream("aac", rate=16000)
        for i in range(10):
            frame = av.AudioFrame.from_ndarray(
                np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
            )
            frame.sample_rate, frame.pts = 16000, i * 1024
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    garbage = d / "garbage.mp4"
    garbage.write_bytes(rng.integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    # two MPEG-TS segments of different sizes, back to back (timestamps restart too)
    a = write_clip(d / "a.ts", seconds=2, fmt="mpegts")
    b = write_clip(d / "b.ts", seconds=2, width=160, height=120, fmt="mpegts", start_index=50)
    resize = d / "resize.ts"
    resize.write_bytes(a.read_bytes() + b.read_bytes())
    corrupt = {}
    for ext, fmt in (("ts", "mpegts"), ("mp4", None)):
        clip = write_clip(d / f"clean.{ext}", seconds=4, fmt=fmt)
        data = bytearray(clip.read_bytes())
        for k in range(40):  # damage the second second of video
            pos = int(len(data) * 0.3) + k * 997
            data[pos : pos + 100] = rng.integers(0, 256, 100, dtype=np.uint8).tobytes()
        corrupt[ext] = d / f"corrupt.{ext}"
        corrupt[ext].write_bytes(bytes(data))
    return {
        "audio": audio,
        "garbage": garbage,
        "resize": resize,
        "corrupt_ts": corrupt["ts"],
        "corrupt_mp4": corrupt["mp4"],
    }


@pytest.mark.parametrize(
    ("name", "words"),
    [("audio", "no video stream"), ("garbage", "invalid data")],
)
def test_non_video_files_fail_clearly(
    name: str, words: str, bad_media: dict[str, Path], supervisor_factory: Factory
) -> None:
    sup, _ = supervisor_factory(pace=False)
    sup.add(SourceSpec("cam", str(bad_media[name]), 2))
    drain(sup, FrameQueue())
    st = sup.statuses()["cam"]
    assert st.state == CameraState.FAILED and words in st.reason
    assert str(bad_media[name]) in st.reason


def test_directory_and_missing_device_fail_clearly(
    tmp_path: Path, supervisor_factory: Factory
) -> None:
    sup, queue = supervisor_factory(pace=False)
    sup.add(SourceSpec("dir", str(tmp_path), 2))
    sup.add(SourceSpec("dev", "/dev/video99", 2))
    drain(sup, queue, until=lambda _: {s.state for s in sup.statuses().values()} == {"failed"})
    st = sup.statuses()
    assert "not a file" in st["dir"].reason
    assert "not found" in st["dev"].reason and "/dev/video99" in st["dev"].reason


@pytest.mark.parametrize("name", ["corrupt_ts", "corrupt_mp4"])
def test_corrupt_packets_are_skipped_counted_and_never_sampled(
    name: str, bad_media: dict[str, Path], supervisor_factory: Factory
) -> None:
    sup, queue = supervisor_factory(pace=False)
    sup.add(SourceSpec("cam", str(bad_media[name]), 5))
    frames = drain(sup, queue)
    st = sup.statuses()["cam"]
    assert st.state == CameraState.ENDED
    assert st.drops.get("corrupt_frame", 0) + st.drops.get("decode_error", 0) > 0
    # every sample handed over shows the picture of its stream time (no smeared frames) ...
    assert all(read_index(f.image) == round(f.pts_s * 25) for f in frames)
    # ... and sampling goes on after the damage (from the next keyframe)
    assert frames[-1].pts_s >= 3.6 and len(frames) >= 10


def test_resolution_change_midway_is_followed_and_reported(
    bad_media: dict[str, Path], supervisor_factory: Factory
) -> None:
    sup, queue = supervisor_factory(pace=False)
    sup.add(SourceSpec("cam", str(bad_media["resize"]), 5))
    frames = drain(sup, queue)
    st = sup.statuses()["cam"]
    assert st.state == CameraState.ENDED
    assert st.resolution_changes == 1 and st.resolution == (160, 120)
    assert {f.image.shape for f in frames} == {(240, 320, 3), (120, 160, 3)}
    assert [f.seq for f in frames] == list(range(20))  # 4 s at 5 fps, nothing lost
    pts = [f.pts_s for f in frames]
    assert pts == sorted(pts)  # the timestamp restart of the second part is no jump back
    assert [read_index(f.image) for f in frames] == [5 * i for i in range(20)]


def test_audio_only_rtsp_stream_fails_with_no_video(
    rtsp_server_factory: Callable[..., RtspServer], supervisor_factory: Factory
) -> None:
    audio = (
        "audiotestsrc is-live=true ! audioconvert ! "
        "audio/x-raw,format=S16BE,channels=1,rate=8000 ! rtpL16pay name=pay0 pt=96"
    )
    server = rtsp_server_factory({"/audio": audio, "/live": live_launch()}, shared=("/live",))
    sup, queue = supervisor_factory()
    sup.add(SourceSpec("mic", server.url("/audio"), 2))
    sup.add(SourceSpec("cam", server.url("/live"), 2))
    frames = drain(
        sup, queue, until=lambda fs: len(fs) >= 3 and sup.statuses()["mic"].state == "failed"
    )
    assert "no video stream" in sup.statuses()["mic"].reason
    assert {f.camera_id for f in frames} == {"cam"}


@pytest.mark.parametrize(
    ("exc", "kind", "permanent"),
    [
        (av.error.HTTPUnauthorizedError(-1, "Server returned 401", URL), "auth", True),
        (av.error.HTTPForbiddenError(-1, "Server returned 403", URL), "auth", True),
        (av.error.HTTPNotFoundError(-1, "Server returned 404", URL), "not_found", True),
        (av.error.DecoderNotFoundError(-1, "Decoder not found", URL), "unsupported_codec", True),
        (av.error.ExitError(-1, "Immediate exit requested", URL), "timeout", False),
        (
            av.error.ConnectionRefusedError(111, "Connection refused", URL),
            "connection_refused",
            False,
        ),
        (av.error.InvalidDataError(-1, "Invalid data", URL), "invalid_data", False),
        (av.error.OSError(5, "I/O error", URL), "io", False),
    ],
)
def test_errors_are_classified_with_masked_reasons(
    exc: Exception, kind: str, permanent: bool
) -> None:
    err = classify_error(exc, URL, SourceKind.RTSP)
    assert (err.kind, err.permanent) == (kind, permanent)
    assert "pa55" not in err.message and "admin:***@10.0.0.5" in err.message


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("rtsp://h/x", SourceKind.RTSP),
        ("rtsps://h:322/x", SourceKind.RTSP),
        ("https://h/live.m3u8", SourceKind.HTTP),
        ("/videos/a.mp4", SourceKind.FILE),
        ("file:///videos/a%20b.mp4", SourceKind.FILE),
        ("/dev/video0", SourceKind.DEVICE),
    ],
)
def test_urls_are_recognised(url: str, kind: SourceKind) -> None:
    parsed = parse_source(url)
    assert parsed.kind == kind
    assert parsed.format == ("v4l2" if kind is SourceKind.DEVICE else None)
    if url.startswith("file://"):
        assert parsed.target == "/videos/a b.mp4"


def test_masking_hides_passwords_and_secret_query_values() -> None:
    assert mask_url(URL) == "rtsp://admin:***@10.0.0.5/stream1"
    assert mask_url("http://h/x.m3u8?token=abc123&q=1") == "http://h/x.m3u8?token=***&q=1"
    assert mask_url("rtsp://10.0.0.5/s") == "rtsp://10.0.0.5/s"
    assert (
        mask_text(f"error opening '{URL}'", URL)
        == "error opening 'rtsp://admin:***@10.0.0.5/stream1'"
    )
    assert StreamerConfig().stall_s < StreamerConfig().read_timeout_s
    with pytest.raises(ValueError, match="stall_s"):
        StreamerConfig(stall_s=5.0, read_timeout_s=3.0)
