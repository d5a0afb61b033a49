"""Live terminal feedback for the CLI: a status line for ``vigil run``, progress bars.

Only when the stream is a terminal: piped or logged output stays plain lines. While the
status line is shown, log lines and incident lines are printed above it (rich's ``Live``
redirects stdout and stderr, and the log handlers are pointed at the redirected stream).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.text import Text

REFRESH_S = 1.0


def status_line(app_obj: Any) -> str:
    """Cameras online, samples per second, incidents open and opened, frames processed."""
    statuses = app_obj.camera_statuses()
    online = sum(1 for st in statuses.values() if st.state.value == "online")
    trouble = sorted(
        cid for cid, st in statuses.items() if st.state.value in ("offline", "failed", "stalled")
    )
    fps = sum(st.sampled_fps for st in statuses.values())
    stats = app_obj.stats
    line = (
        f"cameras {online}/{len(statuses)} online · {fps:.1f} fps · "
        f"incidents {stats.opened - stats.closed} open, {stats.opened} opened · "
        f"{stats.frames} frames"
    )
    if trouble:
        line += f" · down: {', '.join(trouble[:4])}" + (" …" if len(trouble) > 4 else "")
    return line


class RunStatus:
    """A status line kept at the bottom of the terminal while ``vigil run`` runs."""

    def __init__(self, app_obj: Any, *, enabled: bool | None = None) -> None:
        """``enabled`` None: on when stderr is a terminal."""
        self.app_obj = app_obj
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._live: Live | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._swapped: list[tuple[logging.StreamHandler[Any], Any]] = []

    def __enter__(self) -> RunStatus:
        if not self.enabled:
            return self
        original = sys.stderr
        self._live = Live(
            Text(status_line(self.app_obj), style="bold"),
            console=Console(file=original),
            refresh_per_second=4,
            transient=True,
            redirect_stdout=True,
            redirect_stderr=True,
        )
        self._live.start()
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is original:
                self._swapped.append((handler, handler.setStream(sys.stderr)))
        self._thread = threading.Thread(target=self._refresh, name="vigil-status", daemon=True)
        self._thread.start()
        return self

    def _refresh(self) -> None:
        while not self._stop.wait(REFRESH_S):
            live = self._live
            if live is None:
                return
            try:
                live.update(Text(status_line(self.app_obj), style="bold"))
            except Exception:  # a status line must never stop the run
                logging.getLogger(__name__).debug("status line failed", exc_info=True)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        for handler, stream in self._swapped:
            handler.setStream(stream)
        self._swapped.clear()
        if self._live is not None:
            self._live.stop()
            self._live = None


@contextmanager
def progress_bar(
    description: str, *, enabled: bool | None = None
) -> Iterator[Callable[[int, int], None]]:
    """Yields ``update(done, total)``; a bar on stderr when it is a terminal, else nothing."""
    on = sys.stderr.isatty() if enabled is None else enabled
    if not on:
        yield lambda _done, _total: None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=Console(file=sys.stderr),
        transient=True,
    )
    task = bar.add_task(description, total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        yield update
