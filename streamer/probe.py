"""Probe a source URL before saving it: what it carries, how fast it starts, one snapshot."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

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


@dataclass
class _Scan:
    """What reading the first packets found."""

    first_frame_s: float | None = None
    image: np.ndarray | None = None
    keys: list[float] = field(default_factory=list)  # keyframe times, seconds
    pts_seen: list[float] = field(default_factory=list)


def _scan(
    container: Any, stream: Any, cc: Any, started: float, timeout_s: float, keyframe_wait_s: float
) -> _Scan:
    """Demux until the first frame decoded and three keyframes were seen, or the deadline."""
    tb: Fraction = stream.time_base or Fraction(1, 90000)
    scan = _Scan()
    deadline = time.monotonic() + timeout_s + keyframe_wait_s
    for packet in container.demux(stream):
        if packet.pts is not None:
            scan.pts_seen.append(float(packet.pts * tb))
            if packet.is_keyframe:
                scan.keys.append(scan.pts_seen[-1])
        if scan.image is None and packet.size:
            try:
                frames = cc.decode(packet)
            except av.error.DecoderNotFoundError:
                raise
            except av.error.FFmpegError:  # a damaged packet: try the next one
                frames = []
            if frames:
                scan.first_frame_s = time.monotonic() - started
                scan.image = frames[0].to_ndarray(format="bgr24")
                deadline = min(deadline, time.monotonic() + keyframe_wait_s)
        if (scan.image is not None and len(scan.keys) >= 3) or time.monotonic() > deadline:
            break
    return scan


def _write_snapshot(image: np.ndarray, snapshot_path: Path | None) -> str | None:
    """Write the snapshot JPEG (OSError if it cannot be); its path (None: none asked for)."""
    if snapshot_path is None:
        return None
    snapshot_path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(snapshot_path), image):
        raise OSError(f"cannot write snapshot {snapshot_path}")
    return str(snapshot_path)


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
        try:
            scan = _scan(container, stream, cc, started, config.open_timeout_s, keyframe_wait_s)
        except Exception as exc:  # FFmpeg errors of all kinds
            raise classify_error(exc, url, parsed.kind) from exc
        if scan.image is None or scan.first_frame_s is None:
            raise SourceError(
                "timeout",
                f"timeout: no video frame from {mask_url(url)} within "
                f"{time.monotonic() - started:.1f}s",
                permanent=False,
            )
        snapshot = _write_snapshot(scan.image, snapshot_path)
        return _result(url, parsed.kind.value, stream, cc, scan, scan.first_frame_s, snapshot)
    finally:
        container.close()


def _result(
    url: str,
    kind: str,
    stream: Any,
    cc: Any,
    scan: _Scan,
    first_frame_s: float,
    snapshot: str | None,
) -> ProbeResult:
    """The probe's findings from what the scan saw and the stream's own rate."""
    assert scan.image is not None
    keys, pts_seen = scan.keys, scan.pts_seen
    height, width = scan.image.shape[:2]
    rate = stream.average_rate or stream.guessed_rate
    fps = float(rate) if rate else None
    if fps is None and len(pts_seen) > 2 and pts_seen[-1] > pts_seen[0]:
        fps = (len(pts_seen) - 1) / (pts_seen[-1] - pts_seen[0])
    interval = keys[-1] - keys[-2] if len(keys) >= 2 else None
    return ProbeResult(
        url=mask_url(url),
        kind=kind,
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
