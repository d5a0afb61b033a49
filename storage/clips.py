"""Clip encoding off the inference thread.

H.264 encoding of an incident clip takes hundreds of milliseconds; done inline it delays every
camera's frames. ``ClipWriter`` encodes clips one by one on its own thread. Each job has a
``done`` callback that runs exactly once: with the clip's ``MediaRef`` once it is written, or
with ``None`` if encoding failed, the queue was full, or ``stop`` ran out of time first. Whatever
waits on a clip (an incident's close, so that its message carries the clip) therefore always
goes on. A clip that finishes after its job was given up on is handed to ``late``.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from storage.media import MediaStore
from storage.records import MediaRef
from streamer.prebuffer import PacketClip
from streamer.types import Frame

log = logging.getLogger(__name__)

#: Clips waiting to be encoded at most (each holds its frames in memory).
QUEUE_MAX = 32

Done = Callable[[MediaRef | None], None]


@dataclass(eq=False)
class ClipJob:
    """One clip to encode and what to do with the result.

    A job without frames is a barrier: nothing is encoded, and ``done(None)`` runs once every
    job queued before it has settled (an incident's close waits so for its clip).
    """

    incident_id: str
    frames: Sequence[Frame]
    fps: float
    done: Done
    late: Callable[[MediaRef], None] | None = None
    #: the camera's own packets for the clip (full frame rate); ``frames`` are the fallback
    packets: PacketClip | None = None
    _settled: bool = field(default=False, repr=False)


class ClipWriter:
    """Encodes clips on one worker thread; ``submit`` never blocks on encoding."""

    def __init__(self, media: MediaStore, *, queue_max: int = QUEUE_MAX) -> None:
        """Bind to the media store; ``start`` starts the worker."""
        self.media = media
        self.queue_max = queue_max
        self._jobs: collections.deque[ClipJob] = collections.deque()
        self._busy: ClipJob | None = None
        self._cond = threading.Condition()
        self._closing = False
        self._thread: threading.Thread | None = None
        #: clips written, clips given up (failed, queue full or stop), late clips
        self.written = 0
        self.given_up = 0

    def start(self) -> None:
        """Start the worker thread."""
        self._thread = threading.Thread(target=self._run, name="vigil-clips", daemon=True)
        self._thread.start()

    def _settle(self, job: ClipJob, ref: MediaRef | None) -> bool:
        """Run ``job.done`` unless it already ran (True if this call ran it)."""
        with self._cond:
            if job._settled:
                return False
            job._settled = True
            if ref is not None:
                self.written += 1
            elif job.frames:
                self.given_up += 1
        try:
            job.done(ref)
        except Exception:
            log.exception("incident %s: clip callback failed", job.incident_id)
        return True

    def submit(self, job: ClipJob) -> None:
        """Queue a clip; if the queue is full or stopping, ``done(None)`` runs at once."""
        with self._cond:
            refused = self._closing or len(self._jobs) >= self.queue_max
            if not refused:
                self._jobs.append(job)
                self._cond.notify_all()
        if refused:
            log.warning(
                "incident %s: clip not encoded (%d clips already waiting); its incident goes on "
                "without it",
                job.incident_id,
                self.queue_max,
            )
            self._settle(job, None)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._jobs and not self._closing:
                    self._cond.wait()
                if not self._jobs:
                    return
                job = self._jobs.popleft()
                self._busy = job
            ref: MediaRef | None = None
            try:
                if job.frames:
                    ref = self._write(job)
            except Exception as exc:
                log.warning("incident %s: clip not saved: %s", job.incident_id, exc)
            if not self._settle(job, ref) and ref is not None and job.late is not None:
                try:
                    job.late(ref)
                except Exception:
                    log.exception("incident %s: late clip not recorded", job.incident_id)
            with self._cond:
                self._busy = None
                self._cond.notify_all()

    def _write(self, job: ClipJob) -> MediaRef:
        if job.packets is not None:
            try:
                wall = job.frames[0].ts_s - job.frames[0].pts_s
                return self.media.save_packet_clip(job.incident_id, job.packets, wall_offset_s=wall)
            except Exception as exc:
                log.warning(
                    "incident %s: full-rate clip failed (%s); the sampled frames make the clip",
                    job.incident_id,
                    exc,
                )
        return self.media.save_clip(job.incident_id, job.frames, job.fps)

    def pending_for(self, incident_id: str) -> bool:
        """True while a clip of this incident is queued or being encoded."""
        with self._cond:
            busy = self._busy is not None and self._busy.incident_id == incident_id
            return busy or any(j.incident_id == incident_id for j in self._jobs)

    def pending(self) -> int:
        """Clips queued or being encoded."""
        with self._cond:
            return len(self._jobs) + (self._busy is not None)

    def stop(self, timeout_s: float) -> int:
        """Encode what is queued for up to ``timeout_s``; give up on the rest (returns how many).

        Every job not finished by then has its ``done(None)`` run now, so nothing waits on it.
        """
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            self._cond.wait_for(lambda: not self._jobs and self._busy is None, timeout=timeout_s)
            left = list(self._jobs) + ([self._busy] if self._busy is not None else [])
            self._jobs.clear()
        given_up = sum(self._settle(job, None) for job in left if job.frames)
        for job in left:
            self._settle(job, None)  # barriers: what waited on them goes on
        if given_up:
            log.warning("%d clip(s) not encoded before the stop; their incidents go on", given_up)
        return given_up
