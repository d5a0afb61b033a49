"""Camera health: the state machine of one source and the status snapshot it exposes."""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

log = logging.getLogger("streamer.state")


class CameraState(enum.StrEnum):
    """Health of one camera's source.

    - ``starting``: opening the source (first time or a reconnect attempt).
    - ``online``: frames are arriving.
    - ``stalled``: the connection is open but nothing arrived for ``stall_s``.
    - ``offline``: the source failed or dropped; a reconnect follows after a backoff.
    - ``failed``: permanent error (authentication refused, not found, unsupported codec,
      malformed URL); network sources are retried only every ``reconnect.failed_retry_s``,
      file sources never.
    - ``ended``: a file source played out (terminal; files do not reconnect).
    - ``stopped``: the reader was stopped by the supervisor while running (terminal).
    """

    STARTING = "starting"
    ONLINE = "online"
    STALLED = "stalled"
    OFFLINE = "offline"
    FAILED = "failed"
    ENDED = "ended"
    STOPPED = "stopped"


S = CameraState

#: Allowed transitions; anything else is a bug and raises.
TRANSITIONS: Mapping[CameraState, frozenset[CameraState]] = {
    S.STARTING: frozenset({S.ONLINE, S.OFFLINE, S.FAILED, S.ENDED, S.STOPPED}),
    S.ONLINE: frozenset({S.STALLED, S.OFFLINE, S.FAILED, S.ENDED, S.STOPPED}),
    S.STALLED: frozenset({S.ONLINE, S.OFFLINE, S.FAILED, S.ENDED, S.STOPPED}),
    S.OFFLINE: frozenset({S.STARTING, S.STOPPED}),
    S.FAILED: frozenset({S.STARTING, S.STOPPED}),
    S.ENDED: frozenset(),
    S.STOPPED: frozenset(),
}


class InvalidTransition(RuntimeError):
    """A state change that :data:`TRANSITIONS` does not allow."""


@dataclass(frozen=True, slots=True)
class CameraStatus:
    """Snapshot of one camera's health (all times are wall-clock Unix seconds)."""

    camera_id: str
    url: str  # password masked
    state: CameraState
    since_ts_s: float  # when the current state was entered
    reason: str  # why the current state was entered
    last_frame_ts_s: float | None  # wall time at which the last sample was handed over
    input_fps: float  # measured packets per second of the source (last few seconds)
    sampled_fps: float  # measured samples per second handed over (last few seconds)
    reconnects: int  # re-open attempts after the first one
    drops: Mapping[str, int] = field(default_factory=dict)  # cause -> count
    last_error: str | None = None  # password masked
    decode_mode: str = "all"  # "all" or "keyframes"
    resolution: tuple[int, int] | None = None  # (width, height) of the last decoded frame
    resolution_changes: int = 0
    gaps: int = 0  # discontinuities of stream time (reconnects, timestamp resets)
    frames_sampled: int = 0  # samples handed over since the reader started
    codec: str | None = None
    packets_decoded: int = 0  # video packets handed to the decoder
    packets_skipped: int = 0  # video packets never decoded (not needed for any sample)
    decode_cpu_s: float = 0.0  # CPU seconds of the camera's reader threads (streamer.cputime)


_TROUBLE = frozenset({CameraState.OFFLINE, CameraState.FAILED, CameraState.STALLED})


class StateMachine:
    """Thread-safe state of one camera; every transition is logged at INFO as one line."""

    def __init__(self, camera_id: str, initial: CameraState = S.STARTING) -> None:
        self.camera_id = camera_id
        self._lock = threading.Lock()
        self._state = initial
        self._since = time.time()
        self._reason = "created"

    @property
    def state(self) -> CameraState:
        """The current state."""
        return self._state

    @property
    def since_ts_s(self) -> float:
        """Wall-clock time the current state was entered."""
        return self._since

    @property
    def reason(self) -> str:
        """Why the current state was entered."""
        return self._reason

    def to(self, new: CameraState, reason: str, *, only_from: CameraState | None = None) -> bool:
        """Move to ``new``; a no-op (returns False) if already there or not in ``only_from``.

        Raises :class:`InvalidTransition` for a transition :data:`TRANSITIONS` forbids.
        """
        with self._lock:
            old = self._state
            if old == new or (only_from is not None and old != only_from):
                return False
            if new not in TRANSITIONS[old]:
                raise InvalidTransition(
                    f"camera {self.camera_id!r}: transition {old} -> {new} is not allowed"
                )
            self._state = new
            self._since = time.time()
            self._reason = reason
        # losing a camera is something an operator must see; coming back is news too
        level = logging.WARNING if new in _TROUBLE else logging.INFO
        log.log(level, "camera %s: %s -> %s (%s)", self.camera_id, old.value, new.value, reason)
        return True
