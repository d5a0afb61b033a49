"""Fixtures of the streamer tests: generated clips and helpers to drain a supervisor."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from streamer_media import write_clip
from streamer_testutil import APT_LINE, RtspServer, gst_rtsp_available

from streamer.queue import FrameQueue
from streamer.settings import StreamerConfig
from streamer.supervisor import Supervisor


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for generated clips shared by the whole session."""
    return tmp_path_factory.mktemp("streamer-media")


@pytest.fixture(scope="session")
def clip_gop25(media_dir: Path) -> Path:
    """6 s, 25 fps, 320x240, keyframe every 25 frames (1 s), index drawn in every frame."""
    return write_clip(media_dir / "gop25.mp4", seconds=6, gop=25)


@pytest.fixture(scope="session")
def clip_gop5(media_dir: Path) -> Path:
    """6 s, 25 fps, 320x240, keyframe every 5 frames (0.2 s)."""
    return write_clip(media_dir / "gop5.mp4", seconds=6, gop=5)


@pytest.fixture
def supervisor_factory() -> Iterator[Callable[..., tuple[Supervisor, FrameQueue]]]:
    """Make supervisors that are always stopped (threads joined) at teardown."""
    made: list[Supervisor] = []

    def make(**kwargs: object) -> tuple[Supervisor, FrameQueue]:
        config = kwargs.pop("config", None) or StreamerConfig()
        queue = FrameQueue(per_camera=int(kwargs.pop("per_camera", 4)))  # type: ignore[call-overload]
        sup = Supervisor(config=config, queue=queue, **kwargs)  # type: ignore[arg-type]
        made.append(sup)
        return sup, queue

    yield make
    for sup in made:
        sup.stop(timeout_s=10)


@pytest.fixture(scope="session")
def gst_rtsp() -> None:
    """Skip (saying how to install) where the GStreamer RTSP server is missing."""
    if not gst_rtsp_available():
        pytest.skip(f"GStreamer RTSP server not installed for /usr/bin/python3: {APT_LINE}")


@pytest.fixture
def rtsp_server_factory(gst_rtsp: None, tmp_path: Path) -> Iterator[Callable[..., RtspServer]]:
    """Start real RTSP servers (subprocesses of /usr/bin/python3); all closed at teardown."""
    servers: list[RtspServer] = []

    def make(mounts: dict[str, str], **kwargs: object) -> RtspServer:
        server = RtspServer(mounts, log_path=tmp_path / f"rtsp-{len(servers)}.log", **kwargs)  # type: ignore[arg-type]
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        server.close()
