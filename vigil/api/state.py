"""What the API's endpoints share: the stores, the config, the running pipeline (if any)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storage.operator_store import OperatorStore
from vigil.config import VigilConfig


class LoginLimiter:
    """Counts failed logins per (user, address); too many in a window locks that pair out.

    Pairs whose failures are all older than the window are forgotten, so logins with ever
    new user names cannot grow the table without bound.
    """

    #: size of the table at which expired pairs are swept out
    SWEEP_AT = 1024

    def __init__(
        self, attempts: int, window_s: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Allow ``attempts`` failures per ``window_s`` seconds."""
        self.attempts = attempts
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        q = self._failures.get(key, deque())
        while q and q[0] <= now - self.window_s:
            q.popleft()
        return q

    def locked_for(self, user: str, address: str) -> float:
        """Seconds until this pair may try again (0 when it may now)."""
        now = self._clock()
        with self._lock:
            q = self._recent((user, address), now)
            return max(0.0, q[0] + self.window_s - now) if len(q) >= self.attempts else 0.0

    def failed(self, user: str, address: str) -> None:
        """Count one failed login."""
        now = self._clock()
        with self._lock:
            if len(self._failures) >= self.SWEEP_AT:
                cutoff = now - self.window_s
                for key in [k for k, q in self._failures.items() if not q or q[-1] <= cutoff]:
                    del self._failures[key]
            q = self._recent((user, address), now)
            q.append(now)
            self._failures[(user, address)] = q

    def succeeded(self, user: str, address: str) -> None:
        """Forget the failures of a pair that logged in."""
        with self._lock:
            self._failures.pop((user, address), None)

    def __len__(self) -> int:
        """How many pairs are counted now."""
        return len(self._failures)


@dataclass
class ApiState:
    """Shared by every request (``request.app.state.vigil``)."""

    ops: OperatorStore
    config: VigilConfig
    media_dir: Path
    #: the running ``App`` when the pipeline runs in this process (``vigil run``), else None
    app: Any = None
    limiter: LoginLimiter = field(default_factory=lambda: LoginLimiter(5, 300.0))
    #: connected live-feed clients (a one-element list so generators can count in place)
    sse_clients: list[int] = field(default_factory=lambda: [0])
    #: the Prometheus registry of this app (``vigil.api.metrics``), set by ``create_app``
    metrics: Any = None
    #: serialises camera changes (add, update, remove) made through the API
    camera_lock: threading.Lock = field(default_factory=threading.Lock)
    #: the search embedder (``storage.search.MiniLMEmbedder``), made on first use
    embedder: Any = None
    #: set when the server stops: open live feeds end (uvicorn waits for open responses)
    stopping: threading.Event = field(default_factory=threading.Event)
