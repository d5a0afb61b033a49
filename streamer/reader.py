"""One camera's reader thread: open, demux, decode what is needed, sample, hand over, reconnect."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter
from fractions import Fraction

import av
import av.error
from av.container import InputContainer
from av.video.codeccontext import VideoCodecContext
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from streamer.backoff import Backoff
from streamer.cputime import CpuTotal, ThreadCpuMeter
from streamer.prebuffer import PacketBuffer
from streamer.queue import Backpressure, FrameQueue
from streamer.reader_session import FrameHandling, _creation_time, _frame_duration, _GopState
from streamer.sampler import CameraClock, DecodePolicy, RateMeter
from streamer.settings import StreamerConfig
from streamer.source import (
    ParsedSource,
    SourceError,
    SourceKind,
    SourceSpec,
    classify_error,
    open_container,
    parse_source,
)
from streamer.state import CameraState, CameraStatus, InvalidTransition, StateMachine

log = logging.getLogger("streamer.reader")

S = CameraState

#: Consecutive demux errors after which a session is given up (then reconnect or end).
_MAX_DEMUX_ERRORS = 50


class CameraReader(FrameHandling):
    """Reads one source in its own thread and hands sampled frames to a :class:`FrameQueue`.

    Live sources (RTSP, HTTP, devices) reconnect with exponential backoff and jitter forever;
    file sources end (state ``ended``) unless ``spec.loop``. ``clock`` carries stream time and
    sample numbers across reconnects and source updates.
    """

    def __init__(
        self,
        spec: SourceSpec,
        config: StreamerConfig,
        queue: FrameQueue,
        clock: CameraClock | None = None,
        *,
        pace: bool = True,
        packets: PacketBuffer | None = None,
        cpu: CpuTotal | None = None,
    ) -> None:
        self.spec = spec
        self.packets = packets
        #: CPU seconds of this camera's reader threads (shared with the reader it replaced)
        self.cpu = cpu or CpuTotal()
        self._meter: ThreadCpuMeter | None = None
        self.config = config
        self.queue = queue
        self.clock = clock or CameraClock(spec.fps)
        self.pace = pace
        self.machine = StateMachine(spec.camera_id)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"streamer-{spec.camera_id}", daemon=True
        )
        self._backoff = Backoff(config.reconnect)
        self._policy = DecodePolicy(spec.fps, allow_keyframes=config.keyframe_only)
        self._input_rate = RateMeter()
        self._sample_rate = RateMeter()
        self._drops: Counter[str] = Counter()
        self._reconnects = 0
        self._last_error: str | None = None
        self._last_frame_wall: float | None = None
        self._last_packet_mono = time.monotonic()
        self._resume_mono: float | None = None
        self._pace_origin: float | None = None  # wall time that stream time 0 is paced from
        self._held = False  # the thread waits on pacing or the queue, not on the source
        self._tainted = False  # a decode error was seen; frames are damaged until a keyframe
        self._packets_decoded = 0
        self._packets_skipped = 0
        self._resolution: tuple[int, int] | None = None
        self._resolution_changes = 0
        self._frames_sampled = 0
        self._codec: str | None = None
        self._parsed: ParsedSource | None = None

    # -- control -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the reader thread."""
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop (returns at once; see :meth:`join`)."""
        self._stop.set()

    def join(self, timeout_s: float | None = None) -> bool:
        """Wait for the thread to finish; True if it did."""
        if self._thread.ident is not None:
            self._thread.join(timeout_s)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        """True while the thread runs."""
        return self._thread.is_alive()

    @property
    def finished(self) -> bool:
        """True once the source is done for good (file ended or failed, stopped)."""
        return self._thread.ident is not None and not self._thread.is_alive()

    def check_stall(self, now_mono: float | None = None) -> None:
        """Mark an online source ``stalled`` when no packet came for ``stall_s`` (watchdog)."""
        now = time.monotonic() if now_mono is None else now_mono
        silent = now - self._last_packet_mono
        parsed = self._parsed
        limit = parsed.stall_s(self.config) if parsed is not None else self.config.stall_s
        if self.machine.state is S.ONLINE and silent >= limit and not self._held:
            self.machine.to(S.STALLED, f"no data for {silent:.1f}s", only_from=S.ONLINE)

    def status(self) -> CameraStatus:
        """A snapshot of this camera's health."""
        drops = Counter(dict(self._drops))  # dict() copies atomically; the reader may be adding
        drops.update(self.queue.drops_of(self.camera_id))
        return CameraStatus(
            camera_id=self.camera_id,
            url=self.spec.masked_url,
            state=self.machine.state,
            since_ts_s=self.machine.since_ts_s,
            reason=self.machine.reason,
            last_frame_ts_s=self._last_frame_wall,
            input_fps=round(self._input_rate.rate(), 2),
            sampled_fps=round(self._sample_rate.rate(), 2),
            reconnects=self._reconnects,
            drops=dict(drops),
            last_error=self._last_error,
            decode_mode=self._policy.mode,
            resolution=self._resolution,
            resolution_changes=self._resolution_changes,
            gaps=self.clock.gaps,
            frames_sampled=self._frames_sampled,
            codec=self._codec,
            packets_decoded=self._packets_decoded,
            packets_skipped=self._packets_skipped,
            decode_cpu_s=self.cpu.total_s,
        )

    # -- thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        claimed = False
        try:
            claimed = self._claim_clock()
            if claimed:
                self._meter = self.cpu.meter()  # from here on: this camera's CPU time
                if self.clock.sampler.fps != self.spec.fps:  # an update changed the rate
                    self.clock.sampler.set_fps(self.spec.fps, self.clock.last_pts_s)
                self._loop()
        except Exception:  # a bug must not kill the process or other cameras; say so loudly
            log.exception("camera %s: reader crashed", self.camera_id)
            self._last_error = "internal error (see log)"
            with contextlib.suppress(InvalidTransition):
                self.machine.to(S.FAILED, "internal error (see log)")
        finally:
            if self._meter is not None:
                self._meter.tick()
            try:
                if self._stop.is_set() and self.machine.state not in (S.ENDED, S.STOPPED):
                    self.machine.to(S.STOPPED, "stopped")
            finally:
                if claimed:  # last: whoever claims the clock next finds this reader done
                    self.clock.release()

    def _claim_clock(self) -> bool:
        """Take the camera's clock, waiting while a previous reader still holds it.

        A replaced reader whose thread outlived its join (blocked in I/O) keeps the clock
        until it exits; its frames are refused by the queue meanwhile (it is stopped), and
        this reader starts stream time and sample numbers where it left them.
        """
        if self.clock.claimed:
            log.info("camera %s: waiting for the previous reader to stop", self.camera_id)
        return self.clock.claim(self._stop)

    def _loop(self) -> None:
        spec = self.spec
        try:
            self._parsed = parse_source(spec.url)
        except SourceError as exc:
            self._fail(exc)
            return
        kind = self._parsed.kind
        attempt = 0
        replay = False
        while not self._stop.is_set():
            if not replay:
                if attempt:
                    self._reconnects += 1
                self._to(S.STARTING, "opening" if not attempt else f"reconnect attempt {attempt}")
                attempt += 1
            replay = False
            try:
                container, _ = open_container(spec.url, self.config, spec.transport)
            except SourceError as exc:
                if not self._after_error(exc, kind):
                    return
                continue
            try:
                with container:
                    self._session(container, kind)
                ended = SourceError("eof", "end of stream", permanent=False)
            except SourceError as exc:
                ended = exc
            except Exception as exc:  # FFmpeg errors of all kinds end the session
                ended = classify_error(exc, spec.url, kind)
            if self._stop.is_set():
                return
            healthy = time.time() - self.machine.since_ts_s
            if self.machine.state is S.ONLINE and healthy >= self.config.reconnect.healthy_reset_s:
                self._backoff.reset()
            if kind is SourceKind.FILE and ended.kind != "eof" and self._resolution is not None:
                # A file that fails after it played (a truncated end, a broken last GOP) has
                # ended: opening it again would replay it from the start, forever.
                log.warning("camera %s: file ended early: %s", self.camera_id, ended.message)
                self._last_error = ended.message
                self._to(S.ENDED, f"end of file (ended early: {ended.message})")
                return
            if ended.kind == "eof":
                if kind is SourceKind.FILE:
                    if spec.loop and self.machine.state is S.ONLINE:
                        replay = True
                        continue
                    self._to(S.ENDED, "end of file")
                    return
                ended = SourceError("eof", "stream ended by the server", permanent=False)
            if not self._after_error(ended, kind):
                return

    def _after_error(self, exc: SourceError, kind: SourceKind) -> bool:
        """Record an error, move to offline/failed and wait; False when the reader is done."""
        self._last_error = exc.message
        if exc.permanent:
            self._to(S.FAILED, exc.message)
            if kind is SourceKind.FILE:
                return False
            delay = self.config.reconnect.failed_retry_s
        else:
            self._to(S.OFFLINE, exc.message)
            delay = self._backoff.next()
        self._stop.wait(delay)
        return not self._stop.is_set()

    def _fail(self, exc: SourceError) -> None:
        self._last_error = exc.message
        self._to(S.FAILED, exc.message)

    def _to(self, state: CameraState, reason: str) -> None:
        self.machine.to(state, reason)

    # -- one session -------------------------------------------------------------------------

    def _open_codec(self, stream: VideoStream) -> VideoCodecContext:
        """The stream's decoder, with the configured threads (unsupported_codec if none)."""
        cc = stream.codec_context
        if cc is None:
            raise SourceError(
                "unsupported_codec",
                f"unsupported codec: {self.spec.masked_url} (no decoder for this stream)",
                permanent=True,
            )
        self._codec = cc.name
        try:
            cc.thread_count = self.config.decode_threads
            cc.thread_type = "AUTO" if self.config.decode_threads != 1 else "SLICE"
        except (AttributeError, ValueError, RuntimeError):  # already open: keep defaults
            pass
        return cc

    def _begin(
        self, container: InputContainer, stream: VideoStream, cc: VideoCodecContext, live: bool
    ) -> None:
        """Anchor a file's stream time and reset the per-session state."""
        if not live and self.clock.first_wall_s is None:
            anchor = self.spec.start_wall_s
            if anchor is None:
                anchor = _creation_time(container)
            if anchor is not None:
                self.clock.anchor_at(anchor)
        self.clock.new_session()
        if self.packets is not None:
            self.packets.begin(stream)
        self._policy.reset()
        self._input_rate.restart()
        self._tainted = False
        cc.skip_frame = "DEFAULT"

    def _session(self, container: InputContainer, kind: SourceKind) -> None:
        stream: VideoStream = container.streams.video[0]
        cc = self._open_codec(stream)
        tb: Fraction = stream.time_base or Fraction(1, 90000)
        frame_dur = _frame_duration(stream)
        live = kind.live
        strategy: Backpressure = self.config.backpressure if live else "wait"
        self._begin(container, stream, cc, live)
        last_raw: list[float | None] = [None]
        demux = container.demux(stream)
        errors = 0
        gop = _GopState()
        meter = self._meter or self.cpu.meter()
        while not self._stop.is_set():
            meter.tick()  # the previous packet's demux, decode and sampling
            try:
                packet = next(demux)
            except StopIteration:
                self._flush(cc, frame_dur, live, strategy, last_raw)
                raise _as_eof() from None
            except av.error.InvalidDataError:
                errors += 1
                self._drops["demux_error"] += 1
                if errors > _MAX_DEMUX_ERRORS:
                    raise
                demux = container.demux(stream)
                continue
            errors = 0
            now = time.monotonic()
            if self.machine.state is S.STALLED:
                self._maybe_resume(now, frame_dur)
            self._last_packet_mono = now
            if packet.size == 0:  # the demuxer's final flush packet
                continue
            if self.packets is not None:  # every packet, decoded or not: full-rate clips
                self.packets.add(packet)
            self._input_rate.tick()
            pts = packet.pts
            if pts is not None and gop.prev_pts is not None and pts <= gop.prev_pts:
                gop.zero_delay = 0  # reordered (B-frames) or odd timestamps: no GOP-tail skips
            gop.prev_pts = pts
            if self._skip(packet.is_keyframe, pts, gop, tb, frame_dur, cc):
                continue
            frames = self._decode(cc, packet, kind, gop)
            if frames is None:
                continue
            for frame in frames:
                self._on_frame(frame, frame_dur, live, strategy, last_raw)

    def _skip(
        self,
        is_keyframe: bool,
        pts: int | None,
        gop: _GopState,
        tb: Fraction,
        frame_dur: float,
        cc: VideoCodecContext,
    ) -> bool:
        """Whether a packet is skipped, not decoded (keyframes-only mode, a GOP's tail);
        a keyframe may switch the decode mode."""
        if is_keyframe and pts is not None:
            gop.skip_to_key = False
            before = self._policy.mode
            mode = self._policy.on_keyframe(float(pts * tb), frame_dur)
            if mode != before:
                cc.skip_frame = "NONKEY" if mode == "keyframes" else "DEFAULT"
                log.debug("camera %s: decoding %s", self.camera_id, mode)
        elif self._policy.mode == "keyframes" or gop.skip_to_key:
            self._packets_skipped += 1  # not even handed to the decoder
            return True
        elif gop.zero_delay >= 3 and pts is not None and self._gop_tail(pts * tb, frame_dur):
            gop.skip_to_key = True
            self._packets_skipped += 1
            return True
        return False

    def _decode(
        self,
        cc: VideoCodecContext,
        packet: av.Packet[VideoStream],
        kind: SourceKind,
        gop: _GopState,
    ) -> list[VideoFrame] | None:
        """The packet's frames (None: a corrupt packet, counted and skipped)."""
        try:
            frames = cc.decode(packet)
        except av.error.DecoderNotFoundError as exc:
            raise classify_error(exc, self.spec.url, kind) from exc
        except av.error.FFmpegError:  # corrupt packet: skip it, count it, go on
            self._drops["decode_error"] += 1
            self._tainted = self.config.skip_corrupt
            gop.zero_delay = 0
            return None
        self._packets_decoded += 1
        pts = packet.pts
        gop.zero_delay = gop.zero_delay + 1 if len(frames) == 1 and frames[0].pts == pts else 0
        return frames

    def _gop_tail(self, raw: Fraction, frame_dur: float) -> bool:
        """True if no sample is due before the next (predicted) keyframe.

        The frames in between are then never needed: each GOP decodes only up to its last
        sample. Only for a regular GOP and a decoder that returns each frame at once (no
        B-frame reordering, no frame threads); a late keyframe only delays a sample to it.
        """
        if not self.config.skip_gop_tail:
            return False
        nxt = self._policy.next_keyframe_s(frame_dur)
        if nxt is None or float(raw) >= nxt - 0.5 * frame_dur:
            return False
        nxt_pts = self.clock.pts_of(nxt)
        return nxt_pts is not None and self.clock.sampler.next_target_s >= nxt_pts - 0.5 * frame_dur

    def _maybe_resume(self, now: float, frame_dur: float) -> None:
        # Back online only after data kept flowing for a moment: a stalled RTSP demuxer may
        # hand out a few queued packets at its socket timeout, which is no recovery.
        steady = max(0.5, 3 * frame_dur)
        if self._resume_mono is None or now - self._last_packet_mono > steady:
            self._resume_mono = now
        elif now - self._resume_mono >= steady:
            self._resume_mono = None
            self.machine.to(S.ONLINE, "data resumed", only_from=S.STALLED)


def _as_eof() -> SourceError:
    return SourceError("eof", "end of stream", permanent=False)
