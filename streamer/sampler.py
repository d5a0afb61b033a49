"""Stream-time sampling, the stream-to-wall-clock mapping and the decode-mode choice."""

from __future__ import annotations

import math
import threading
import time
from collections import deque

_EPS = 1e-6

#: A live stream whose mapped wall time falls this far behind the wall clock is re-anchored.
LIVE_RESYNC_S = 5.0


class Sampler:
    """Picks samples at ``fps`` by stream time.

    The n-th target is ``n / fps`` seconds after the first frame; the first frame at or after a
    target is sampled. Targets missed (a gap, a slow source) are skipped, never burst.
    """

    def __init__(self, fps: float) -> None:
        if not 0 < fps <= 1000:
            raise ValueError(f"sampling fps must be in (0, 1000], got {fps}")
        self.fps = float(fps)
        self._next = 0  # index of the next target

    @property
    def next_target_s(self) -> float:
        """Stream time of the next target."""
        return self._next / self.fps

    def offer(self, pts_s: float) -> bool:
        """True if the frame at stream time ``pts_s`` is to be sampled."""
        if pts_s + _EPS < self._next / self.fps:
            return False
        self._next = math.floor(pts_s * self.fps + _EPS) + 1
        return True

    def set_fps(self, fps: float, after_pts_s: float | None) -> None:
        """Change the rate; the next target is the first of the new grid after ``after_pts_s``."""
        if not 0 < fps <= 1000:
            raise ValueError(f"sampling fps must be in (0, 1000], got {fps}")
        self.fps = float(fps)
        self._next = 0 if after_pts_s is None else math.floor(after_pts_s * self.fps + _EPS) + 1


class CameraClock:
    """Per-camera stream time, wall-clock mapping, sample numbering and sampler.

    Survives reconnects and source updates so that ``pts_s`` never goes backwards and ``seq``
    keeps counting: every new session (``new_session``) is anchored after the last frame; for a
    live source it is anchored at the wall-clock time elapsed since the first frame, so the
    outage shows as a gap in stream time.

    Not thread-safe: only the reader that holds it (:meth:`claim` ... :meth:`release`) may
    use it. A reader that replaces another on the same camera claims the clock only once the
    previous one let go, i.e. its thread is done, so the two can never interleave.
    """

    def __init__(self, fps: float) -> None:
        self._owner = threading.Lock()
        self.sampler = Sampler(fps)
        self.first_wall_s: float | None = None
        self.last_pts_s: float | None = None
        self.seq = 0
        self.gaps = 0
        self.last_gap_s = 0.0
        self._origin_raw: float | None = None  # raw time of the session's first frame
        self._base = 0.0  # output pts at the session origin
        self._last_raw: float | None = None
        self._anchor_wall_s: float | None = None

    def anchor_at(self, wall_s: float) -> None:
        """Map the first frame to ``wall_s`` (a file's recording time) instead of now.

        Only before the first frame: once stream time is anchored it never moves.
        """
        if self.first_wall_s is None and math.isfinite(wall_s):
            self._anchor_wall_s = wall_s

    def claim(self, stop: threading.Event, poll_s: float = 0.1) -> bool:
        """Wait for sole use of the clock; False (not claimed) if ``stop`` is set first."""
        while not self._owner.acquire(timeout=poll_s):
            if stop.is_set():
                return False
        return True

    @property
    def claimed(self) -> bool:
        """True while a reader holds the clock."""
        return self._owner.locked()

    def release(self) -> None:
        """Give up the clock (after :meth:`claim`); the next reader may take it."""
        self._owner.release()

    def new_session(self) -> None:
        """A new connection or file: its raw timestamps start from an unknown origin."""
        self._origin_raw = None
        self._last_raw = None

    def map(self, raw_s: float, *, live: bool, frame_dur_s: float) -> float | None:
        """Stream time (seconds since the camera's first frame) of a frame at raw ``raw_s``.

        Returns None for a frame slightly earlier than the previous one (out of order); a
        large backwards jump (a timestamp reset) starts a new segment after the last frame.
        A non-finite ``raw_s`` returns None and changes nothing: the clock never takes one.
        """
        if not math.isfinite(raw_s):
            return None
        if self.first_wall_s is None:
            anchor = self._anchor_wall_s
            self.first_wall_s = anchor if anchor is not None else time.time()
            self._origin_raw, self._base = raw_s, 0.0
        elif self._origin_raw is None or (
            self._last_raw is not None and raw_s < self._last_raw - 1.0
        ):
            last = self.last_pts_s if self.last_pts_s is not None else 0.0
            base = last + frame_dur_s
            if live:
                base = max(base, time.time() - self.first_wall_s)
            if self.last_pts_s is not None:
                self.gaps += 1
                self.last_gap_s = base - last
            self._origin_raw, self._base = raw_s, base
        elif self._last_raw is not None and raw_s < self._last_raw:
            return None
        self._last_raw = raw_s
        pts = self._base + (raw_s - self._origin_raw)
        if live:
            lag = time.time() - (self.first_wall_s + pts)
            if lag > LIVE_RESYNC_S:
                # The camera's clock runs slow against ours (or it delivered slower than real
                # time): move stream time forward to the wall clock, recorded as a gap.
                self._base += lag
                pts += lag
                self.gaps += 1
                self.last_gap_s = lag
        if self.last_pts_s is not None and pts < self.last_pts_s:
            pts = self.last_pts_s
        self.last_pts_s = pts
        return pts

    def pts_of(self, raw_s: float) -> float | None:
        """Stream time a raw timestamp of the current session will map to (None: not anchored)."""
        if self._origin_raw is None:
            return None
        return self._base + (raw_s - self._origin_raw)

    def wall(self, pts_s: float) -> float:
        """Wall-clock time that stream time ``pts_s`` maps to."""
        assert self.first_wall_s is not None
        return self.first_wall_s + pts_s

    def next_seq(self) -> int:
        """The next sample number (0, 1, 2, ...)."""
        seq = self.seq
        self.seq += 1
        return seq


class DecodePolicy:
    """Chooses between decoding every frame and decoding keyframes only.

    Keyframes only when the measured keyframe interval (last few intervals, all of them) is at
    most the sampling period, plus half a frame of tolerance: then every sampling target has a
    keyframe within one period. Mode changes happen only at keyframes (safe for the decoder).
    When keyframes come at a regular interval, :meth:`next_keyframe_s` predicts the next one
    (the reader then skips the rest of a GOP once no sample is due before that keyframe).
    """

    def __init__(self, fps: float, *, allow_keyframes: bool, history: int = 2) -> None:
        self.fps = fps
        self.allow_keyframes = allow_keyframes
        self.mode = "all"
        self.keyframe_interval_s: float | None = None
        self._intervals: deque[float] = deque(maxlen=history)
        self._last_key_s: float | None = None

    def reset(self) -> None:
        """A new session: measure again, decode everything until then."""
        self.mode = "all"
        self._intervals.clear()
        self._last_key_s = None

    def on_keyframe(self, raw_s: float, frame_dur_s: float) -> str:
        """Record a keyframe at raw time ``raw_s``; returns the mode from this packet on."""
        if self._last_key_s is not None:
            interval = raw_s - self._last_key_s
            if interval <= 0 or interval > 3600:
                self._intervals.clear()
            else:
                self._intervals.append(interval)
                self.keyframe_interval_s = interval
        self._last_key_s = raw_s
        ok = (
            self.allow_keyframes
            and len(self._intervals) == self._intervals.maxlen
            and max(self._intervals) <= 1.0 / self.fps + 0.5 * frame_dur_s
        )
        self.mode = "keyframes" if ok else "all"
        return self.mode

    def next_keyframe_s(self, frame_dur_s: float) -> float | None:
        """Predicted raw time of the next keyframe if the last intervals agree, else None."""
        if self._last_key_s is None or len(self._intervals) < (self._intervals.maxlen or 0):
            return None
        if max(self._intervals) - min(self._intervals) > 0.5 * frame_dur_s:
            return None
        return self._last_key_s + self._intervals[-1]


class RateMeter:
    """Events per second over the last ``window_s`` seconds (thread-safe enough for stats)."""

    def __init__(self, window_s: float = 5.0) -> None:
        self.window_s = window_s
        self._times: deque[float] = deque()
        self._start = time.monotonic()
        self._lock = threading.Lock()

    def tick(self, now: float | None = None) -> None:
        """Count one event."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._times.append(now)
            self._trim(now)

    def rate(self, now: float | None = None) -> float:
        """Events per second over the window (or since start, if shorter)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._trim(now)
            span = min(self.window_s, now - self._start)
            return len(self._times) / span if span > 0.05 else 0.0

    def restart(self) -> None:
        """Forget past events (e.g. after a reconnect)."""
        with self._lock:
            self._times.clear()
            self._start = time.monotonic()

    def _trim(self, now: float) -> None:
        while self._times and self._times[0] <= now - self.window_s:
            self._times.popleft()
