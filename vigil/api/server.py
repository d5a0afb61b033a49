"""Serving the API: uvicorn in a thread beside the pipeline (``vigil run``) or alone (``serve``),
and the escalation loop that raises incidents left ``new`` too long."""

from __future__ import annotations

import importlib.util
import logging
import threading
from pathlib import Path
from typing import Any

import uvicorn

from storage.errors import StorageError
from storage.operator_store import OperatorStore
from storage.repo_live import CAMERA_STATE
from vigil.api.app import create_app
from vigil.api.state import ApiState
from vigil.config import VigilConfig

log = logging.getLogger(__name__)

#: How often the escalation loop looks for incidents left ``new`` too long.
ESCALATE_EVERY_S = 5.0
#: How long a stop waits for each of the API's threads (the whole stop budget is 4.5 s).
STOP_WAIT_S = 1.0


class Escalator:
    """A thread that escalates incidents nobody acknowledged in time."""

    def __init__(self, ops: OperatorStore, after_s_by_severity: dict[str, float]) -> None:
        """Escalate by the delays of ``after_s_by_severity``."""
        self.ops = ops
        self.after = dict(after_s_by_severity)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="vigil-escalator", daemon=True)

    def start(self) -> None:
        """Start the loop (nothing to do when no severity escalates)."""
        if self.after:
            self._thread.start()

    def tick(self) -> int:
        """Escalate what is due now; returns how many."""
        entries = self.ops.escalate_due(self.after)
        for entry in entries:
            log.warning("escalated an incident left new (%s)", entry.after)
        return len(entries)

    def _loop(self) -> None:
        while not self._stop.wait(ESCALATE_EVERY_S):
            try:
                self.tick()
            except StorageError as exc:
                log.warning("escalation check failed (will retry): %s", exc)

    def stop(self) -> None:
        """Stop the loop."""
        self._stop.set()
        if self._thread.is_alive():
            # a check stuck on a hung database must not hold up the stop (daemon thread)
            self._thread.join(timeout=STOP_WAIT_S)


#: How often camera states are compared for the live feed.
CAMERA_WATCH_EVERY_S = 1.0


class CameraWatcher:
    """A thread that puts each camera state change of the in-process pipeline on the live feed."""

    def __init__(self, ops: OperatorStore, pipeline: Any) -> None:
        """Watch ``pipeline.lanes()``."""
        self.ops = ops
        self.pipeline = pipeline
        self._last: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="vigil-camwatch", daemon=True)

    def start(self) -> None:
        """Start watching."""
        self._thread.start()

    def tick(self) -> int:
        """Announce the cameras whose state changed since the last call; returns how many."""
        changed = 0
        for lane in self.pipeline.lanes():
            st = lane.status
            if st is None or self._last.get(lane.camera_id) == st.state.value:
                continue
            self.ops.add_event(
                CAMERA_STATE,
                camera_id=lane.camera_id,
                payload={
                    "camera_id": lane.camera_id,
                    "state": st.state.value,
                    "before": self._last.get(lane.camera_id),
                    "reason": st.reason,
                },
            )
            self._last[lane.camera_id] = st.state.value
            changed += 1
        return changed

    def _loop(self) -> None:
        while not self._stop.wait(CAMERA_WATCH_EVERY_S):
            try:
                self.tick()
            except StorageError as exc:
                log.warning("camera state events not recorded (will retry): %s", exc)

    def stop(self) -> None:
        """Stop watching."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=STOP_WAIT_S)


#: How often new reports are embedded for semantic search (the first pass waits this long too,
#: so a short-lived server never loads the model).
INDEX_EVERY_S = 30.0


class SearchIndexer:
    """A thread that embeds reports written since its last pass (MiniLM, when installed)."""

    def __init__(self, state: ApiState) -> None:
        """Index through ``state``'s store and embedder."""
        self.state = state
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="vigil-indexer", daemon=True)

    def start(self) -> None:
        """Start indexing (nothing to do without the search extra)."""
        if importlib.util.find_spec("sentence_transformers") is not None:
            self._thread.start()

    def tick(self) -> int:
        """Embed the reports that have no embedding yet; returns how many."""
        from storage.search import MiniLMEmbedder

        if self.state.embedder is None:
            self.state.embedder = MiniLMEmbedder()
        store = self.state.ops.store
        done = store.backfill_embeddings(self.state.embedder)
        if done:
            log.info("search: embedded %d new report(s)", done)
        store.warm_search_index(self.state.embedder)
        return done

    def _loop(self) -> None:
        while not self._stop.wait(INDEX_EVERY_S):
            try:
                self.tick()
            except Exception as exc:  # the index is best effort; the API keeps serving
                log.warning("search: embedding new reports failed (will retry): %s", exc)

    def stop(self) -> None:
        """Stop indexing (a pass in progress is abandoned: daemon thread)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=STOP_WAIT_S)


class ApiServer:
    """uvicorn serving the API on ``api.bind``, plus the escalator; start/stop in order."""

    def __init__(
        self, ops: OperatorStore, config: VigilConfig, *, media_dir: Path, pipeline: Any = None
    ) -> None:
        """Prepare the server (nothing listens until ``start``)."""
        self.config = config
        self.app = create_app(ops, config, media_dir=media_dir, pipeline=pipeline)
        self.escalator = Escalator(ops, config.api.escalate_after_s)
        self.indexer = SearchIndexer(self.app.state.vigil)
        self.watcher = None if pipeline is None else CameraWatcher(ops, pipeline)
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                host=config.api.host,
                port=config.api.port,
                log_level="warning",
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=1,
            )
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where the service answers."""
        host = self.config.api.host
        shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
        return f"http://{shown}:{self.config.api.port}"

    def start(self) -> None:
        """Listen in a background thread; raises ``OSError`` if the port cannot be bound."""
        self._thread = threading.Thread(target=self._server.run, name="vigil-api", daemon=True)
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise OSError(f"the API could not listen on {self.config.api.bind}")
            self._thread.join(timeout=0.05)
        self.escalator.start()
        self.indexer.start()
        if self.watcher is not None:
            self.watcher.start()
        log.info("API listening on %s", self.url)

    def stop(self) -> None:
        """Stop escalating and serving (open live feeds are closed)."""
        self.escalator.stop()
        self.indexer.stop()
        if self.watcher is not None:
            self.watcher.stop()
        self.app.state.vigil.stopping.set()
        self._server.should_exit = True
        if self._thread is not None:
            # requests stuck on a hung database are left behind (daemon threads)
            self._thread.join(timeout=STOP_WAIT_S)
            if self._thread.is_alive():
                log.warning("API: requests still running at stop were abandoned")
            self._thread = None
