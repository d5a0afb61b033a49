"""Pre-event packet buffer: the last seconds of one camera's compressed stream.

Sampling at 1–5 fps is enough to score a scene, not to show it: a clip made of the sampled
frames is a slideshow. The reader hands every demuxed packet (before deciding what to decode)
to a :class:`PacketBuffer`, which keeps whole GOPs covering the last ``keep_s`` seconds, up to
``max_bytes``. When an incident's clip is due, :meth:`PacketBuffer.clip` copies the packets from
the keyframe at or before its start to its end: a :class:`PacketClip` that the media stage
remuxes (H.264) or decodes and re-encodes (other codecs) at the camera's own frame rate.

Packets are placed in the camera's stream time (``Frame.pts_s``) through the offset between
raw and stream time that the reader reports with each frame it maps. A new session (reconnect,
file reopened) starts an empty buffer: its timestamps and codec parameters may differ.
"""

from __future__ import annotations

import collections
import io
import logging
import math
import threading
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import av.error

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BufferedPacket:
    """One compressed packet: raw timestamps in its session's time base, and stream time."""

    pts: int
    dts: int
    pts_s: float
    dts_s: float
    key: bool
    duration: int
    data: bytes


@dataclass(frozen=True, slots=True)
class PacketClip:
    """Packets of one clip, decode order, starting at a keyframe; what is needed to mux them.

    ``template`` is an output stream holding the session's codec parameters (copied into the
    clip's container with ``add_stream_from_template``); ``holder`` keeps its container alive.
    """

    camera_id: str
    codec: str
    time_base: Fraction
    fps: float
    width: int
    height: int
    packets: tuple[BufferedPacket, ...]
    template: Any
    holder: Any

    @property
    def start_pts_s(self) -> float:
        """Stream time of the first frame shown."""
        return min(p.pts_s for p in self.packets)

    @property
    def end_pts_s(self) -> float:
        """Stream time of the last frame shown."""
        return max(p.pts_s for p in self.packets)

    @property
    def bytes(self) -> int:
        """Compressed size of the packets."""
        return sum(len(p.data) for p in self.packets)


class PacketBuffer:
    """Whole GOPs of the last ``keep_s`` seconds of one camera (thread-safe).

    ``begin`` at each session, ``add`` for every packet, ``note_time`` for each frame mapped
    to stream time; ``clip`` from any thread.
    """

    def __init__(self, camera_id: str, *, keep_s: float, max_bytes: int) -> None:
        """An empty buffer; nothing is kept until :meth:`begin`."""
        self.camera_id = camera_id
        self.keep_s = keep_s
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._packets: collections.deque[BufferedPacket] = collections.deque()
        self._keys: collections.deque[int] = collections.deque()  # seq of each keyframe kept
        self._first_seq = 0  # seq of self._packets[0]
        self._bytes = 0
        self._pending: list[tuple[int, int, bool, int, bytes]] = []  # before the first offset
        self._offset: float | None = None  # stream time minus raw time
        self._tb = Fraction(1, 90000)
        self._codec = ""
        self._fps = 0.0
        self._size = (0, 0)
        self._template: Any = None
        self._holder: Any = None
        self.dropped_oversize = 0  # GOPs dropped because one GOP alone exceeded max_bytes

    def begin(self, stream: Any) -> bool:
        """A new session on ``stream`` (an input video stream); False if it cannot be kept.

        Its codec parameters are copied into a stream of an unopened MP4 container, kept as
        the template of every clip of this session. A codec MP4 cannot hold keeps nothing.
        """
        holder: Any = None
        template: Any = None
        try:
            holder = av.open(io.BytesIO(), "w", format="mp4")
            template = holder.add_stream_from_template(stream)
        except (ValueError, av.error.FFmpegError) as exc:
            log.info(
                "camera %s: no full-rate clips for this stream (%s); clips use the samples",
                self.camera_id,
                exc,
            )
            template = None
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        cc = stream.codec_context
        with self._lock:
            self._clear()
            self._tb = stream.time_base or Fraction(1, 90000)
            self._codec = cc.name if cc is not None else ""
            self._fps = float(rate) if rate and 1 <= float(rate) <= 240 else 0.0
            self._size = (int(cc.width or 0), int(cc.height or 0)) if cc is not None else (0, 0)
            self._template, self._holder = template, holder
            self._offset = None
        return template is not None

    def _clear(self) -> None:
        self._packets.clear()
        self._keys.clear()
        self._pending.clear()
        self._first_seq = 0
        self._bytes = 0

    def add(self, packet: Any) -> None:
        """Keep one demuxed packet (packets without a timestamp cannot be placed: skipped)."""
        if self._template is None or packet.pts is None:
            return
        pts = int(packet.pts)
        dts = int(packet.dts) if packet.dts is not None else pts
        item = (pts, dts, bool(packet.is_keyframe), int(packet.duration or 0), bytes(packet))
        with self._lock:
            if self._offset is None:
                if len(self._pending) < 4096:
                    self._pending.append(item)
                return
            self._append(item)

    def note_time(self, raw_s: float, pts_s: float) -> None:
        """The reader mapped a frame at raw time ``raw_s`` to stream time ``pts_s``."""
        if not (math.isfinite(raw_s) and math.isfinite(pts_s)):
            return
        with self._lock:
            first = self._offset is None
            self._offset = pts_s - raw_s
            if first and self._pending:
                pending, self._pending = self._pending, []
                for item in pending:
                    self._append(item)

    def _append(self, item: tuple[int, int, bool, int, bytes]) -> None:
        pts, dts, key, duration, data = item
        if not self._packets and not key:
            return  # a buffer starts at a keyframe
        assert self._offset is not None
        tb = float(self._tb)
        seq = self._first_seq + len(self._packets)
        self._packets.append(
            BufferedPacket(
                pts, dts, pts * tb + self._offset, dts * tb + self._offset, key, duration, data
            )
        )
        self._bytes += len(data)
        if key:
            self._keys.append(seq)
        self._trim()

    def _drop_first_gop(self) -> None:
        self._keys.popleft()
        end = self._keys[0] if self._keys else self._first_seq + len(self._packets)
        while self._first_seq < end:
            self._bytes -= len(self._packets.popleft().data)
            self._first_seq += 1

    def _trim(self) -> None:
        newest = self._packets[-1].dts_s
        # whole GOPs: the first one goes once the next one alone covers keep_s
        while len(self._keys) >= 2:
            second = self._packets[self._keys[1] - self._first_seq]
            if newest - second.pts_s < self.keep_s and self._bytes <= self.max_bytes:
                break
            self._drop_first_gop()
        if self._bytes > self.max_bytes and len(self._keys) == 1 and len(self._packets) > 1:
            # one GOP alone is larger than the limit: nothing usable until the next keyframe
            self.dropped_oversize += 1
            self._drop_first_gop()

    def clip(self, start_pts_s: float, end_pts_s: float) -> PacketClip | None:
        """Packets showing ``start_pts_s``..``end_pts_s`` (from the keyframe at or before the
        start), or None when the buffer holds nothing of that span."""
        with self._lock:
            if self._template is None or not self._keys:
                return None
            packets = list(self._packets)
            first_seq = self._first_seq
            keys = list(self._keys)
            template, holder = self._template, self._holder
            codec, tb, fps, size = self._codec, self._tb, self._fps, self._size
        start_idx = keys[0] - first_seq
        for seq in keys:
            if packets[seq - first_seq].pts_s <= start_pts_s + 1e-6:
                start_idx = seq - first_seq
            else:
                break
        chosen: list[BufferedPacket] = []
        last_dts: int | None = None
        shown = float("-inf")  # the latest frame the clip shows so far
        for p in packets[start_idx:]:
            if last_dts is not None and p.dts <= last_dts:
                break  # a timestamp reset: the clip ends there
            # past the end in decode order, B-frames may still be due that show before the
            # last frame taken: take those (in order, so their references come along)
            if p.dts_s > end_pts_s + 1e-6 and (p.key or p.pts_s >= shown):
                break
            chosen.append(p)
            last_dts = p.dts
            shown = max(shown, p.pts_s)
        if len(chosen) < 2 or chosen[0].pts_s > end_pts_s:
            return None
        return PacketClip(
            camera_id=self.camera_id,
            codec=codec,
            time_base=tb,
            fps=fps,
            width=size[0],
            height=size[1],
            packets=tuple(chosen),
            template=template,
            holder=holder,
        )

    def stats(self) -> tuple[float, int, int]:
        """Seconds held, packets held and their bytes."""
        with self._lock:
            if not self._packets:
                return 0.0, 0, 0
            span = self._packets[-1].dts_s - self._packets[0].dts_s
            return span, len(self._packets), self._bytes
