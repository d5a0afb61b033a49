"""Media store: JPEG keyframes and short H.264 MP4 clips per incident, with retention.

Files live under ``storage.media_dir`` as ``<YYYY-MM-DD>/<incident_id>/<name>``; paths in
the database are relative to it and every path is checked to stay inside it. Files are written
to a temporary name and renamed, so a crash or a full disk never leaves a half-written file
under a real name. Retention deletes the oldest media first, by age and by total size, and
never the media of an incident that is still open.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from storage.errors import MediaError, StorageFull
from storage.records import MediaRef
from storage.retention import ORPHAN_GRACE_S as ORPHAN_GRACE_S  # re-exported
from storage.retention import RetentionSweeper as RetentionSweeper  # re-exported
from storage.retention import SweepResult, sweep_media
from storage.retention import is_vigil_media_path as is_vigil_media_path  # re-exported
from storage.settings import StorageConfig
from storage.store import Store
from streamer.prebuffer import PacketClip
from streamer.types import Frame

log = logging.getLogger(__name__)

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_SAFE_LABEL = re.compile(r"^[a-z0-9][a-z0-9_-]{0,23}$")
_TMP_PREFIX = ".tmp-"


def _check_id(incident_id: str) -> str:
    if not _SAFE_ID.match(incident_id) or ".." in incident_id:
        raise MediaError(
            f"incident id {incident_id!r} cannot name a media folder "
            "(letters, digits, . _ : - only, at most 128, no '..')"
        )
    return incident_id


class MediaStore:
    """Writes keyframes and clips under ``config.media_dir`` and applies retention."""

    def __init__(self, config: StorageConfig, *, clock: Callable[[], float] = time.time) -> None:
        """Create the media folder if needed (``MediaError`` if impossible)."""
        self.config = config
        self.root = Path(config.media_dir).expanduser().resolve()
        self._clock = clock
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MediaError(f"storage.media_dir {str(self.root)!r}: cannot create: {exc}") from exc

    # --- paths ----------------------------------------------------------------------------

    def path_of(self, relative: str | MediaRef) -> Path:
        """The absolute path of a media file; ``MediaError`` if it would leave the media dir
        (absolute paths, ``..``, symlinks pointing outside)."""
        rel = relative.path if isinstance(relative, MediaRef) else relative
        if not rel or Path(rel).is_absolute() or "\\" in rel or "\x00" in rel:
            raise MediaError(f"media path {rel!r} must be relative to the media directory")
        full = (self.root / rel).resolve()
        if not full.is_relative_to(self.root) or full == self.root:
            raise MediaError(f"media path {rel!r} leaves the media directory {str(self.root)!r}")
        return full

    def _new_relative(self, incident_id: str, ts_s: float, name: str) -> str:
        day = datetime.fromtimestamp(ts_s, UTC).strftime("%Y-%m-%d")
        rel = f"{day}/{_check_id(incident_id)}/{name}"
        self.path_of(rel)  # belt and braces
        return rel

    def _write_atomic(self, rel: str, data: bytes | Callable[[Path], None]) -> int:
        """Write ``data`` (bytes, or a writer of a temp path) to ``rel``; returns its size."""
        final = self.path_of(rel)
        tmp = final.with_name(f"{_TMP_PREFIX}{uuid.uuid4().hex}{final.suffix}")
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(data, bytes):
                with open(tmp, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
            else:
                data(tmp)
            size = tmp.stat().st_size
            os.replace(tmp, final)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StorageFull(
                    f"media disk full: cannot write {rel!r} under {str(self.root)!r}; "
                    "nothing was written (retention frees space; see storage.retention)"
                ) from exc
            raise MediaError(f"cannot write media {rel!r} under {str(self.root)!r}: {exc}") from exc
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        return size

    # --- writing --------------------------------------------------------------------------

    def save_keyframe(
        self, incident_id: str, image: np.ndarray, ts_s: float, kind: str = "onset"
    ) -> MediaRef:
        """Write a BGR uint8 image as JPEG; ``kind`` is a short label (onset, peak, ...)."""
        if not _SAFE_LABEL.match(kind):
            raise MediaError(f"keyframe kind {kind!r}: use a short lower-case label")
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise MediaError(
                f"keyframe of incident {incident_id!r} must be HxWx3 uint8 BGR, "
                f"got shape {image.shape} dtype {image.dtype}"
            )
        ok, buf = cv2.imencode(
            ".jpg", image, [int(cv2.IMWRITE_JPEG_QUALITY), self.config.media.jpeg_quality]
        )
        if not ok:
            raise MediaError(f"JPEG encoding failed for incident {incident_id!r}")
        name = f"keyframe-{kind}-{round(ts_s * 1000)}.jpg"
        rel = self._new_relative(incident_id, ts_s, name)
        size = self._write_atomic(rel, buf.tobytes())
        h, w = image.shape[:2]
        return MediaRef(
            incident_id=incident_id,
            kind=f"keyframe:{kind}",
            path=rel,
            content_type="image/jpeg",
            ts_s=float(ts_s),
            bytes=size,
            width=int(w),
            height=int(h),
        )

    def save_clip(self, incident_id: str, frames: Sequence[Frame], fps: float) -> MediaRef:
        """Encode frames (oldest first, timed by their ``pts_s``) as an H.264 MP4."""
        usable = _increasing(frames)
        if not usable:
            raise MediaError(f"clip of incident {incident_id!r}: no frames")
        if fps <= 0:
            raise MediaError(f"clip of incident {incident_id!r}: fps must be > 0, got {fps}")
        first = usable[0]
        width, height = _clip_size(first.width, first.height, self.config.media.max_clip_width)
        duration = usable[-1].pts_s - first.pts_s + 1.0 / fps

        def encode(tmp: Path) -> None:
            self._encode_h264(
                tmp, ((f.image, f.pts_s - first.pts_s) for f in usable), fps, width, height
            )

        return self._write_clip(incident_id, first.ts_s, encode, width, height, duration)

    def save_packet_clip(
        self, incident_id: str, clip: PacketClip, *, wall_offset_s: float
    ) -> MediaRef:
        """A clip at the camera's own frame rate from its compressed packets.

        H.264 is remuxed as it came (no decoding, full resolution); other codecs are decoded
        and encoded to H.264 (scaled to ``max_clip_width``), so that every clip plays in a
        browser. ``wall_offset_s`` maps the camera's stream time to wall-clock time.
        """
        if len(clip.packets) < 2 or not clip.packets[0].key:
            raise MediaError(f"clip of incident {incident_id!r}: no keyframe to start from")
        start_s = clip.start_pts_s
        duration = clip.end_pts_s - start_s + (1.0 / clip.fps if clip.fps else 0.0)
        if clip.codec == "h264":
            width, height = clip.width, clip.height

            def write(tmp: Path) -> None:
                _remux(tmp, clip)

        else:
            width, height = _clip_size(clip.width, clip.height, self.config.media.max_clip_width)
            fps = clip.fps or 25.0

            def write(tmp: Path) -> None:
                self._encode_h264(tmp, _decoded(clip), fps, width, height)

        return self._write_clip(
            incident_id, start_s + wall_offset_s, write, width, height, duration
        )

    def _encode_h264(
        self,
        tmp: Path,
        images: Iterable[tuple[np.ndarray, float]],
        fps: float,
        width: int,
        height: int,
    ) -> None:
        """Encode BGR images timed in seconds from the clip's start as H.264 MP4."""
        crf = self.config.media.clip_crf
        with av.open(str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"}) as out:
            stream = out.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
            stream.width, stream.height = width, height
            stream.pix_fmt = "yuv420p"
            stream.time_base = Fraction(1, 1000)
            stream.codec_context.time_base = Fraction(1, 1000)
            stream.options = {"crf": str(crf), "preset": "veryfast"}
            last = -1
            for img, t in images:
                pts = round(t * 1000)
                if pts <= last:
                    continue
                last = pts
                if (img.shape[1], img.shape[0]) != (width, height):
                    img = cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)
                vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="bgr24")
                vf.pts = pts
                vf.time_base = Fraction(1, 1000)
                for packet in stream.encode(vf):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)

    def _write_clip(
        self,
        incident_id: str,
        first_ts_s: float,
        write: Callable[[Path], None],
        width: int,
        height: int,
        duration_s: float,
    ) -> MediaRef:
        name = f"clip-{round(first_ts_s * 1000)}.mp4"
        rel = self._new_relative(incident_id, first_ts_s, name)
        try:
            size = self._write_atomic(rel, write)
        except (av.FFmpegError, ValueError) as exc:
            raise MediaError(f"clip of incident {incident_id!r}: encoding failed: {exc}") from exc
        return MediaRef(
            incident_id=incident_id,
            kind="clip",
            path=rel,
            content_type="video/mp4",
            ts_s=float(first_ts_s),
            bytes=size,
            width=width,
            height=height,
            duration_s=round(duration_s, 3),
        )

    # --- retention ------------------------------------------------------------------------

    def sweep(self, store: Store, *, orphans: bool = True) -> SweepResult:
        """Delete media older than ``retention.days`` and, oldest first, media beyond
        ``retention.max_gb`` — never the media of an open incident. Logs every deletion.

        With ``orphans``, also deletes files under the media dir that the database does not
        know and that are older than an hour (left by a crash between writing and recording).
        See ``storage.retention``.
        """
        return sweep_media(self, store, now=self._clock(), orphans=orphans)


def _remux(tmp: Path, clip: PacketClip) -> None:
    """Copy a clip's packets into an MP4 (timestamps from its first packet's decode time)."""
    d0 = clip.packets[0].dts
    with av.open(str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"}) as out:
        stream = out.add_stream_from_template(clip.template)
        for p in clip.packets:
            packet = av.Packet(p.data)
            packet.pts, packet.dts = p.pts - d0, p.dts - d0
            packet.time_base = clip.time_base
            if p.duration:
                packet.duration = p.duration
            packet.is_keyframe = p.key
            packet.stream = stream
            out.mux(packet)


def _decoded(clip: PacketClip) -> Iterator[tuple[np.ndarray, float]]:
    """Decode a clip's packets: BGR images with seconds from the clip's first frame."""
    ctx: Any = av.CodecContext.create(clip.codec, "r")
    extradata = clip.template.codec_context.extradata
    if extradata:
        ctx.extradata = extradata
    start = clip.start_pts_s
    d0 = clip.packets[0].dts
    for p in clip.packets:
        packet = av.Packet(p.data)
        packet.pts, packet.dts = p.pts - d0, p.dts - d0
        packet.time_base = clip.time_base
        try:
            frames = ctx.decode(packet)
        except av.FFmpegError:
            continue  # a damaged packet: its frame is left out
        yield from _timed(frames, clip, start, d0)
    with contextlib.suppress(av.FFmpegError):
        yield from _timed(ctx.decode(None), clip, start, d0)


def _timed(
    frames: Sequence[Any], clip: PacketClip, start: float, d0: int
) -> Iterator[tuple[np.ndarray, float]]:
    offset = clip.packets[0].pts_s - float((clip.packets[0].pts - d0) * clip.time_base)
    for f in frames:
        if f.pts is None:
            continue
        t = float(f.pts * clip.time_base) + offset - start
        yield f.to_ndarray(format="bgr24"), t


def _increasing(frames: Sequence[Frame]) -> list[Frame]:
    out: list[Frame] = []
    for f in frames:
        if not out or f.pts_s > out[-1].pts_s + 1e-4:
            out.append(f)
    return out


def _clip_size(width: int, height: int, max_width: int) -> tuple[int, int]:
    if width > max_width:
        height = round(height * max_width / width)
        width = max_width
    return max(2, width - width % 2), max(2, height - height % 2)


def clip_frames(
    frames: Sequence[Frame], *, onset_pts_s: float, before_s: float, after_s: float
) -> list[Frame]:
    """The frames from ``before_s`` before the onset to ``after_s`` after it, oldest first."""
    lo, hi = onset_pts_s - before_s, onset_pts_s + after_s
    return [f for f in _increasing(sorted(frames, key=lambda f: f.pts_s)) if lo <= f.pts_s <= hi]


class ClipCollector:
    """Gathers one incident's clip: the window's frames before the onset, then live frames
    until ``after_s`` past it. ``add`` returns True once the clip is complete."""

    def __init__(
        self, window_frames: Sequence[Frame], *, onset_pts_s: float, before_s: float, after_s: float
    ) -> None:
        """Start from a window snapshot (oldest first)."""
        self.onset_pts_s = onset_pts_s
        self.before_s = before_s
        self.after_s = after_s
        self._frames: list[Frame] = list(window_frames)

    @property
    def done_at_pts_s(self) -> float:
        """Stream time at which the clip is complete."""
        return self.onset_pts_s + self.after_s

    def add(self, frame: Frame) -> bool:
        """Add a live frame; True when the clip has all the seconds after the onset."""
        if not self._frames or frame.pts_s > self._frames[-1].pts_s:
            self._frames.append(frame)
        return frame.pts_s >= self.done_at_pts_s

    @property
    def frames(self) -> list[Frame]:
        """The clip's frames so far."""
        return clip_frames(
            self._frames,
            onset_pts_s=self.onset_pts_s,
            before_s=self.before_s,
            after_s=self.after_s,
        )
