"""One reader session's frame handling: stream time, first frame and size changes, damage,
pacing and the hand-over to the queue; and the session's small helpers."""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass

import av.error
import numpy as np
from av.container import InputContainer
from av.video.codeccontext import VideoCodecContext
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from streamer.prebuffer import PacketBuffer
from streamer.queue import Backpressure, FrameQueue
from streamer.sampler import CameraClock, RateMeter
from streamer.settings import StreamerConfig
from streamer.source import SourceSpec
from streamer.state import CameraState, StateMachine
from streamer.types import Frame

log = logging.getLogger("streamer.reader")

S = CameraState


class FrameHandling:
    """What :class:`streamer.reader.CameraReader` does with each decoded frame (a mixin: the
    reader holds the state)."""

    spec: SourceSpec
    config: StreamerConfig
    queue: FrameQueue
    clock: CameraClock
    pace: bool
    packets: PacketBuffer | None
    machine: StateMachine
    _stop: threading.Event
    _drops: Counter[str]
    _resolution: tuple[int, int] | None
    _resolution_changes: int
    _codec: str | None
    _tainted: bool
    _held: bool
    _pace_origin: float | None
    _last_packet_mono: float
    _frames_sampled: int
    _sample_rate: RateMeter
    _last_frame_wall: float | None

    @property
    def camera_id(self) -> str:
        """The camera this reader serves."""
        return self.spec.camera_id

    def _flush(
        self,
        cc: VideoCodecContext,
        frame_dur: float,
        live: bool,
        strategy: Backpressure,
        last_raw: list[float | None],
    ) -> None:
        try:
            frames = cc.decode(None)
        except av.error.FFmpegError:
            return
        for frame in frames:
            if self._stop.is_set():
                return
            if isinstance(frame, VideoFrame):
                self._on_frame(frame, frame_dur, live, strategy, last_raw)

    def _on_frame(
        self,
        frame: VideoFrame,
        frame_dur: float,
        live: bool,
        strategy: Backpressure,
        last_raw: list[float | None],
    ) -> None:
        if self._stop.is_set():  # stopped: no more samples, nor stream time or numbers used up
            return
        raw = self._frame_time(frame, frame_dur, last_raw)
        if raw is None:
            return
        pts = self.clock.map(raw, live=live, frame_dur_s=frame_dur)
        if pts is None:
            self._drops["out_of_order"] += 1
            return
        if self.packets is not None:
            self.packets.note_time(raw, pts)
        self._note_frame(frame)
        if not self.clock.sampler.offer(pts):
            return
        if self._tainted:  # damaged, or predicted from damaged frames: not worth a sample
            self._drops["corrupt_frame"] += 1
            return
        self._hand_over(frame.to_ndarray(format="bgr24"), pts, live, strategy)

    def _note_resolution(self, size: tuple[int, int]) -> None:
        old = self._resolution
        self._resolution = size
        self._resolution_changes += 1
        log.info(
            "camera %s: resolution changed %s -> %dx%d",
            self.camera_id,
            f"{old[0]}x{old[1]}" if old else "?",
            size[0],
            size[1],
        )

    def _frame_time(
        self, frame: VideoFrame, frame_dur: float, last_raw: list[float | None]
    ) -> float | None:
        """The frame's raw stream time in seconds (None: it has none usable; dropped)."""
        raw = frame.time
        if raw is None and frame.pts is None and last_raw[0] is not None:
            raw = last_raw[0] + frame_dur  # a stream without timestamps: one frame on
        elif raw is None and frame.pts is None:
            raw = 0.0
        if raw is None or not math.isfinite(raw):
            # a frame flushed out of the decoder without a usable time (B-frames at the end
            # of a file or after a drop): it cannot be placed in stream time, so it is dropped
            self._drops["no_time"] += 1
            return None
        last_raw[0] = raw
        return raw

    def _note_frame(self, frame: VideoFrame) -> None:
        """The first frame brings the camera online; note size changes and damage."""
        size = (frame.width, frame.height)
        if self._resolution is None or self.machine.state is S.STARTING:
            if self._resolution is not None and size != self._resolution:
                self._note_resolution(size)
            self._resolution = size
            self.machine.to(
                S.ONLINE,
                f"first frame {size[0]}x{size[1]} {self._codec}",
                only_from=S.STARTING,
            )
        elif size != self._resolution:
            self._note_resolution(size)
        if frame.is_corrupt:
            self._tainted = self.config.skip_corrupt
        elif frame.key_frame:
            self._tainted = False

    def _hand_over(self, image: np.ndarray, pts: float, live: bool, strategy: Backpressure) -> None:
        """Pace a file's sample to its stream time, then queue it."""
        ts = self.clock.wall(pts)
        self._held = True  # waiting on our side (pacing, a full queue) is no source stall
        try:
            if self.pace and not live:
                # paced from when this reader's first sample was handed over, whatever
                # wall-clock time the file's frames are stamped with
                if self._pace_origin is None:
                    self._pace_origin = time.time() - pts
                wait = self._pace_origin + pts - time.time()
                if wait > 0 and self._stop.wait(wait):
                    return
            out = Frame(self.camera_id, self.clock.next_seq(), pts, ts, image)
            handed = self.queue.put(out, strategy, self._stop)
        finally:
            self._held = False
            self._last_packet_mono = time.monotonic()
        if handed:
            self._frames_sampled += 1
            self._sample_rate.tick()
            self._last_frame_wall = time.time()


@dataclass
class _GopState:
    """What a session's packet loop tracks to skip the tail of a GOP."""

    zero_delay: int = 0  # consecutive packets whose frame came out of the decoder at once
    skip_to_key: bool = False  # nothing is due before the next keyframe: skip the GOP's tail
    prev_pts: int | None = None


def _frame_duration(stream: VideoStream) -> float:
    """Seconds per frame from the stream's rate (0.04 when it has no plausible one)."""
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return 1.0 / float(rate) if rate and 1 <= float(rate) <= 240 else 0.04


def _creation_time(container: InputContainer) -> float | None:
    """The container's ``creation_time`` (ISO 8601, as cameras and phones write it), if any."""
    tags = dict(container.metadata or {})
    for stream in container.streams.video[:1]:
        tags = {**dict(stream.metadata or {}), **tags}
    raw = tags.get("creation_time")
    if not raw:
        return None
    try:
        when = dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    ts = when.timestamp()
    return ts if 0 < ts < time.time() + 86400 else None
