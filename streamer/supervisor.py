"""Many cameras in one process: one reader thread per camera plus a stall watchdog."""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref

from streamer.cputime import CpuTotal
from streamer.prebuffer import PacketBuffer
from streamer.queue import FrameQueue
from streamer.reader import CameraReader
from streamer.sampler import CameraClock
from streamer.settings import StreamerConfig
from streamer.source import HLS_MIN_READ_TIMEOUT_S, SourceSpec
from streamer.state import CameraStatus

log = logging.getLogger("streamer.supervisor")

#: How often the watchdog looks for stalled sources.
_WATCH_PERIOD_S = 0.2

#: Supervisors not stopped yet; stopped at interpreter exit as a safety net (a reader thread
#: still inside FFmpeg while the interpreter finalizes can abort the process).
_RUNNING: weakref.WeakSet[Supervisor] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for sup in list(_RUNNING):
        sup.stop(timeout_s=2.0)


class Supervisor:
    """Runs one :class:`CameraReader` per camera; cameras come and go without touching others.

    ``pace=True`` plays file sources in real time (sleeping by stream time); ``pace=False``
    decodes them as fast as the consumer takes frames. A camera's stream time and sample
    numbers continue across :meth:`update` (no jump backwards for the pipeline's windows).
    """

    def __init__(
        self,
        *,
        config: StreamerConfig,
        queue: FrameQueue,
        pace: bool = True,
        packet_buffer_s: float = 0.0,
        packet_buffer_bytes: int = 0,
    ) -> None:
        """Readers share ``queue``; ``packet_buffer_s`` > 0 keeps that many seconds of each
        camera's compressed packets (at most ``packet_buffer_bytes``) for full-rate clips."""
        self.config = config
        self.queue = queue
        self.pace = pace
        self.packet_buffer_s = packet_buffer_s
        self.packet_buffer_bytes = packet_buffer_bytes
        self._buffers: dict[str, PacketBuffer] = {}
        self._readers: dict[str, CameraReader] = {}
        self._clocks: dict[str, CameraClock] = {}
        self._cpu: dict[str, CpuTotal] = {}
        self._lock = threading.RLock()
        self._closed = threading.Event()
        self._watchdog: threading.Thread | None = None
        _RUNNING.add(self)

    def add(self, spec: SourceSpec) -> None:
        """Start reading a new camera; raises ValueError if the id is already present."""
        with self._lock:
            if self._closed.is_set():
                raise RuntimeError("supervisor is stopped")
            if spec.camera_id in self._readers:
                raise ValueError(f"camera {spec.camera_id!r} is already present")
            # An updated camera's new reader gets its predecessor's clock; it claims it only
            # once that reader's thread is done (see CameraReader), so they never share it.
            clock = self._clocks.setdefault(spec.camera_id, CameraClock(spec.fps))
            buffer: PacketBuffer | None = None
            if self.packet_buffer_s > 0 and self.packet_buffer_bytes > 0:
                buffer = self._buffers.setdefault(
                    spec.camera_id,
                    PacketBuffer(
                        spec.camera_id,
                        keep_s=self.packet_buffer_s,
                        max_bytes=self.packet_buffer_bytes,
                    ),
                )
            reader = CameraReader(
                spec,
                self.config,
                self.queue,
                clock,
                pace=self.pace,
                packets=buffer,
                cpu=self._cpu.setdefault(spec.camera_id, CpuTotal()),
            )
            self._readers[spec.camera_id] = reader
            reader.start()
            self._ensure_watchdog()
        log.info("camera %s: added (%s, %.2g fps)", spec.camera_id, spec.masked_url, spec.fps)

    def remove(self, camera_id: str, timeout_s: float | None = None) -> None:
        """Stop and join one camera's reader and forget its waiting frames; others go on."""
        with self._lock:
            reader = self._readers.pop(camera_id, None)
            self._clocks.pop(camera_id, None)
            self._buffers.pop(camera_id, None)
            self._cpu.pop(camera_id, None)
        if reader is None:
            raise KeyError(f"no camera {camera_id!r}")
        self._stop_reader(reader, timeout_s)
        self.queue.discard(camera_id)
        log.info("camera %s: removed", camera_id)

    def update(self, spec: SourceSpec, timeout_s: float | None = None) -> None:
        """Restart one camera with a new spec (URL, fps, transport); others are untouched."""
        with self._lock:
            old = self._readers.pop(spec.camera_id, None)
        if old is None:
            raise KeyError(f"no camera {spec.camera_id!r}")
        self._stop_reader(old, timeout_s)
        self.queue.discard(spec.camera_id)
        self.add(spec)

    def packet_buffer(self, camera_id: str) -> PacketBuffer | None:
        """The camera's buffer of recent packets (None: not kept, or no such camera)."""
        with self._lock:
            return self._buffers.get(camera_id)

    def cameras(self) -> list[str]:
        """Ids of the cameras being read."""
        with self._lock:
            return list(self._readers)

    def statuses(self) -> dict[str, CameraStatus]:
        """Health of every camera."""
        with self._lock:
            readers = list(self._readers.values())
        return {r.camera_id: r.status() for r in readers}

    def ended(self) -> bool:
        """True when every camera's source is done for good (files played out or failed).

        Live sources never end (they reconnect). False while there are no cameras.
        """
        with self._lock:
            readers = list(self._readers.values())
        return bool(readers) and all(r.finished for r in readers)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop every reader and join the threads (waits up to ``timeout_s`` in all)."""
        self._closed.set()
        _RUNNING.discard(self)
        with self._lock:
            readers = list(self._readers.values())
        for r in readers:
            r.stop()
        deadline = time.monotonic() + timeout_s
        for r in readers:
            if not r.join(max(0.0, deadline - time.monotonic())):
                log.warning(
                    "camera %s: reader did not stop within %.1fs (blocked in I/O; it stops "
                    "at its read timeout)",
                    r.camera_id,
                    timeout_s,
                )
        if self._watchdog is not None:
            self._watchdog.join(max(0.0, deadline - time.monotonic()) + _WATCH_PERIOD_S * 2)

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _stop_reader(self, reader: CameraReader, timeout_s: float | None) -> None:
        reader.stop()
        limit = timeout_s if timeout_s is not None else self._join_limit()
        if not reader.join(limit):
            log.warning("camera %s: reader did not stop within %.1fs", reader.camera_id, limit)

    def _join_limit(self) -> float:
        return self.config.open_timeout_s + max(self.config.read_timeout_s, HLS_MIN_READ_TIMEOUT_S)

    def _ensure_watchdog(self) -> None:
        if self._watchdog is None:
            self._watchdog = threading.Thread(
                target=self._watch, name="streamer-watchdog", daemon=True
            )
            self._watchdog.start()

    def _watch(self) -> None:
        while not self._closed.wait(_WATCH_PERIOD_S):
            with self._lock:
                readers = list(self._readers.values())
            now = time.monotonic()
            for r in readers:
                r.check_stall(now)
