"""Probe a source URL before saving it: what it carries, how fast it starts, one snapshot."""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av.error
import cv2
import numpy as np

from streamer.masking import mask_url
from streamer.settings import StreamerConfig
from streamer.source import SourceError, classify_error, open_container


@dataclass(frozen=True)
class ProbeResult:
    """What a source carries (all from the stream itself, none from guesses)."""

    url: str  # password masked
    kind: str  # rtsp, http, file, device
    codec: str
    profile: str | None
    width: int
    height: int
    fps: float | None  # nominal frame rate (or measured from timestamps)
    keyframe_interval_s: float | None  # None: fewer than two keyframes seen in time
    keyframe_interval_frames: int | None
    time_to_first_frame_s: float  # from the start of opening to the first decoded frame
    snapshot_path: str | None


def probe(
    url: str,
    *,
    config: StreamerConfig | None = None,
    transport: str | None = None,
    snapshot_path: Path | None = None,
    keyframe_wait_s: float = 6.0,
) -> ProbeResult:
    """Open ``url``, decode the first frame, measure the keyframe interval, write a snapshot.

    Raises :class:`streamer.source.SourceError` whose ``kind`` says what went wrong
    (``auth``, ``not_found``, ``timeout``, ``unsupported_codec``, ``no_video``,
    ``malformed_url``, ``connection_refused``, ``invalid_data``, ``io``) and whose message
    names the URL with its password masked.
    """
    config = config or StreamerConfig()
    started = time.monotonic()
    container, parsed = open_container(url, config, transport)
    try:
        stream = container.streams.video[0]
        cc = stream.codec_context
        if cc is None:
            raise SourceError(
                "unsupported_codec", f"unsupported codec: {mask_url(url)}", permanent=True
            )
        tb: Fraction = stream.time_base or Fraction(1, 90000)
        first_frame_s: float | None = None
        image: np.ndarray | None = None
        keys: list[float] = []
        pts_seen: list[float] = []
        deadline = time.monotonic() + config.open_timeout_s + keyframe_wait_s
        try:
            for packet in container.demux(stream):
                if packet.pts is not None:
                    pts_seen.append(float(packet.pts * tb))
                    if packet.is_keyframe:
                        keys.append(pts_seen[-1])
                if image is None and packet.size:
                    try:
                        frames = cc.decode(packet)
                    except av.error.DecoderNotFoundError:
                        raise
                    except av.error.FFmpegError:  # a damaged packet: try the next one
                        frames = []
                    if frames:
                        first_frame_s = time.monotonic() - started
                        image = frames[0].to_ndarray(format="bgr24")
                        deadline = min(deadline, time.monotonic() + keyframe_wait_s)
                if (image is not None and len(keys) >= 3) or time.monotonic() > deadline:
                    break
        except Exception as exc:  # FFmpeg errors of all kinds
            raise classify_error(exc, url, parsed.kind) from exc
        if image is None or first_frame_s is None:
            raise SourceError(
                "timeout",
                f"timeout: no video frame from {mask_url(url)} within "
                f"{time.monotonic() - started:.1f}s",
                permanent=False,
            )
        snapshot: str | None = None
        if snapshot_path is not None:
            snapshot_path.parent.mkdir(parents=True, exist_ok=True)
            if not cv2.imwrite(str(snapshot_path), image):
                raise OSError(f"cannot write snapshot {snapshot_path}")
            snapshot = str(snapshot_path)
        height, width = image.shape[:2]
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else None
        if fps is None and len(pts_seen) > 2 and pts_seen[-1] > pts_seen[0]:
            fps = (len(pts_seen) - 1) / (pts_seen[-1] - pts_seen[0])
        interval = keys[-1] - keys[-2] if len(keys) >= 2 else None
        return ProbeResult(
            url=mask_url(url),
            kind=parsed.kind.value,
            codec=cc.name,
            profile=cc.profile,
            width=width,
            height=height,
            fps=fps,
            keyframe_interval_s=interval,
            keyframe_interval_frames=round(interval * fps) if interval and fps else None,
            time_to_first_frame_s=first_frame_s,
            snapshot_path=snapshot,
        )
    finally:
        container.close()
