"""HTTP sources: HLS served by a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av
import pytest
from streamer_media import frame_image, read_index
from streamer_testutil import drain

from streamer.queue import FrameQueue
from streamer.source import SourceSpec
from streamer.state import CameraState
from streamer.supervisor import Supervisor

Factory = Callable[..., tuple[Supervisor, FrameQueue]]


def write_hls(folder: Path, seconds: int = 4, fps: int = 25) -> Path:
    """An HLS VOD playlist of 1 s H.264 segments with the frame index drawn in."""
    playlist = folder / "index.m3u8"
    options = {"hls_time": "1", "hls_list_size": "0", "hls_playlist_type": "vod"}
    with av.open(str(playlist), "w", format="hls", options=options) as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.options = {"g": str(fps), "keyint_min": str(fps), "sc_threshold": "0", "bf": "0"}
        for i in range(seconds * fps):
            frame = av.VideoFrame.from_ndarray(frame_image(i, 320, 240), format="bgr24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return playlist


class _Handler(SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/private/"):
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="cams"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def http_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("hls")
    write_hls(folder)
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_hls_source_samples_by_stream_time(http_base: str, supervisor_factory: Factory) -> None:
    sup, queue = supervisor_factory()
    sup.add(SourceSpec("hls", f"{http_base}/index.m3u8", 2))
    frames = drain(sup, queue, until=lambda fs: len(fs) >= 6)
    assert sup.statuses()["hls"].state in (CameraState.ONLINE, CameraState.OFFLINE)
    for f in frames[:6]:
        assert f.seq / 2 - 1e-6 <= f.pts_s < f.seq / 2 + 0.04
        assert read_index(f.image) == round(f.pts_s * 25)


@pytest.mark.parametrize(
    ("path", "words"),
    [("/missing.m3u8", "not found"), ("/private/index.m3u8", "authentication failed")],
)
def test_http_errors_fail_clearly(
    http_base: str, supervisor_factory: Factory, path: str, words: str
) -> None:
    sup, queue = supervisor_factory()
    sup.add(SourceSpec("cam", f"{http_base}{path}", 2))
    drain(sup, queue, until=lambda _: sup.statuses()["cam"].state == CameraState.FAILED)
    assert words in sup.statuses()["cam"].reason
