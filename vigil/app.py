"""The application: wires the stages together, starts them in order and stops them in reverse.

Data flow: Supervisor (reader threads) -> FrameQueue -> inference loop (window buffers, scorer,
detectors) -> reports -> one DB transaction per update (incident, report, outbox) -> publisher
(Kafka or in-process subscribers).

Nothing accepted is lost: an update is accepted once the durable recorder has it in its
fsync'd journal; a writer thread stores journal entries in the database in order, so detection
never waits on the database, and what is not stored at exit (or at a SIGKILL) is replayed at
the next start. Incidents an earlier process left open are closed as ``interrupted`` first.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from engines.factory import build_scorer
from engines.types import Scorer
from reports.service import ReportService
from storage.clip_recorder import ClipRecorder
from storage.clips import ClipWriter
from storage.intake import Intake
from storage.media import MediaStore, RetentionSweeper
from storage.publisher import OutboxPublisher
from storage.recorder import DurableRecorder
from storage.records import MediaRef
from storage.stage import StorageStage
from storage.store import Store
from streamer.clock import SYSTEM_CLOCK, Clock
from streamer.prebuffer import PacketBuffer
from streamer.queue import FrameQueue
from streamer.source import SourceSpec
from streamer.state import CameraState, CameraStatus
from streamer.supervisor import Supervisor
from streamer.types import Frame
from vigil.config import CameraConfig, VigilConfig
from vigil.incidents import IncidentHandler, Listeners, UpdateCallback
from vigil.lanes import CameraLane, LaneState, RunStats
from vigil.pipeline import Pipeline
from vigil.runtime_cameras import load_runtime_cameras

log = logging.getLogger(__name__)

__all__ = ["App", "LaneState", "RunStats", "UpdateCallback"]

#: Seconds between live ticks.
TICK_S = 1.0
#: Seconds of packets kept beyond a clip's span: the GOP before its start, and how far the
#: inference loop may lag the readers when the clip is due.
PACKET_BUFFER_MARGIN_S = 10.0


class App:
    """One Vigil process: cameras in, incidents out.

    ``add_camera`` and ``remove_camera`` may be called from any thread while ``run`` runs: the
    pipeline lock serialises them with frame processing.

    Parts may be injected: a ``scorer`` (else built from ``config.model``), a ``store`` (else
    opened from ``config.storage``) and a ``clock``. Injected parts belong to the caller:
    ``stop`` does not close them.
    """

    def __init__(
        self,
        config: VigilConfig,
        *,
        pace: bool = True,
        max_batch: int = 8,
        scorer: Scorer | None = None,
        store: Store | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.config = config
        self.pace = pace
        self.max_batch = max_batch
        self.clock = clock
        #: stop() returns within about this many seconds, whatever the database does
        #: (accepted updates not stored by then stay in the journal for the next start).
        self.stop_timeout_s = 4.5
        self.stats = RunStats()
        self._stop = threading.Event()
        self._ended: set[str] = set()  # cameras whose stream ended and whose incidents closed
        self._started: list[str] = []
        self._listeners = Listeners()
        self._own_scorer = scorer is None
        self.storage = StorageStage(
            config.storage, store=store, on_stored=self._stored, on_lost=self._lost
        )
        self.publisher: OutboxPublisher | None = None
        self.reports: ReportService | None = None
        self.scorer: Scorer | None = scorer
        self.queue: FrameQueue | None = None
        self.supervisor: Supervisor | None = None
        self.clips = ClipRecorder(
            None,
            config.storage.media,
            fps_of=lambda cid: self.pipeline.fps_of(cid),
            packets_of=self._packets_of,
            on_late=self._add_media,
        )
        self.pipeline = Pipeline(clips=self.clips, stats=self.stats, clock=clock)

    # -- start / stop ----------------------------------------------------------------------

    def on_update(self, callback: UpdateCallback) -> None:
        """Call ``callback(update, report)`` for every incident update once it is accepted."""
        self._listeners.subscribe(callback)

    def subscribe(self, callback: UpdateCallback) -> Callable[[], None]:
        """Like :meth:`on_update`, from any thread; returns a function that unsubscribes."""
        return self._listeners.subscribe(callback)

    def start(self) -> None:
        """Start every stage, in data-flow order from storage up to the sources.

        If a step fails, the steps already started are stopped before the error propagates.
        """
        try:
            self._open_storage()
            self._start_publisher()
            self._start_reports()
            self._load_scorer()
            self._start_sources()
        except BaseException:
            self.stop()
            raise
        log.info(
            "vigil started: site %s, %d camera(s), profile %s",
            self.config.site,
            len(self.pipeline),
            self.config.model.profile,
        )

    def _open_storage(self) -> None:
        self.storage.open(self._started, now_s=self.clock.wall())
        self.clips.writer = self.storage.clip_writer

    @property
    def running(self) -> bool:
        """True between a successful ``start()`` and a stop request."""
        return bool(self._started) and not self._stop.is_set()

    @property
    def store(self) -> Store | None:
        """The database, once open."""
        return self.storage.store

    @property
    def recorder(self) -> DurableRecorder | None:
        """The journal-backed recorder, once started."""
        return self.storage.recorder

    @property
    def intake(self) -> Intake | None:
        """Where accepted updates, reports and media enter storage."""
        return self.storage.intake

    @property
    def media(self) -> MediaStore | None:
        """The media store (keyframes, clips)."""
        return self.storage.media

    @property
    def sweeper(self) -> RetentionSweeper | None:
        """The retention sweeper."""
        return self.storage.sweeper

    @property
    def clip_writer(self) -> ClipWriter | None:
        """The clip thread."""
        return self.storage.clip_writer

    def _start_publisher(self) -> None:
        assert self.store is not None
        self.publisher = OutboxPublisher(self.store, self.config.bus)
        self.publisher.start()
        self._started.append("publisher")

    def _start_reports(self) -> None:
        assert self.intake is not None
        self.reports = ReportService(self.config.reports, on_report=self.intake.accept_report)
        self._started.append("reports")
        self.pipeline.incidents = IncidentHandler(
            site=self.config.site,
            timezone=self.config.timezone,
            tz=self.config.tz,
            intake=self.intake,
            clips=self.clips,
            media=self.media,
            reports=self.reports,
            listeners=self._listeners,
            stats=self.stats,
            camera_of=self.pipeline.camera_of,
            history_of=self.pipeline.history_of,
        )

    def _load_scorer(self) -> None:
        if self.scorer is None:
            self.scorer = build_scorer(self.config.model)
        self.pipeline.scorer = self.scorer
        self._started.append("scorer")

    def _start_sources(self) -> None:
        self.queue = FrameQueue(per_camera=self.config.streamer.queue_size)
        media_cfg = self.config.storage.media
        self.supervisor = Supervisor(
            config=self.config.streamer,
            queue=self.queue,
            pace=self.pace,
            # the clip's span, plus a GOP before it and the pipeline's lag after it
            packet_buffer_s=(
                media_cfg.clip_before_s + media_cfg.clip_after_s + PACKET_BUFFER_MARGIN_S
                if media_cfg.clip_full_rate
                else 0.0
            ),
            packet_buffer_bytes=media_cfg.clip_buffer_mb * 1024 * 1024,
        )
        self._started.append("sources")
        for cam in self.config.cameras:
            if cam.enabled:
                self.add_camera(cam)
        load_runtime_cameras(self)  # those added through the API, kept in the database

    # -- cameras ---------------------------------------------------------------------------

    def add_camera(self, cam: CameraConfig) -> None:
        """Start watching a camera (others are not touched)."""
        assert self.store is not None and self.supervisor is not None
        with self.pipeline.lock:
            if cam.id in self.pipeline:
                raise ValueError(f"camera {cam.id!r} is already watched")
            self._ended.discard(cam.id)
            self.store.upsert_camera(
                camera_id=cam.id,
                name=cam.display_name,
                location=cam.location,
                url_masked=cam.masked_url,
            )
            rules = {ev: rule.resolved(ev) for ev, rule in cam.events.items()}
            self._warn_unscored(cam.id, set(rules))
            self.supervisor.add(
                SourceSpec(
                    camera_id=cam.id,
                    url=cam.url,
                    fps=cam.fps,
                    transport=cam.transport,
                    name=cam.display_name,
                    start_wall_s=cam.start_wall_s(self.config.tz),
                )
            )
            self.pipeline.add(
                CameraLane.create(
                    cam,
                    rules,
                    window_s=self.config.model.window_s,
                    keep_before_s=self.config.storage.media.clip_before_s,
                )
            )
        log.info("camera %s added (%s, %.1f fps)", cam.id, cam.masked_url, cam.fps)

    def _warn_unscored(self, camera_id: str, events: set[str]) -> None:
        if self.scorer is None:
            return
        unscored = sorted(events - set(self.scorer.events))
        if unscored:
            log.warning(
                "camera %s: the %s scorer does not detect %s; those events will not "
                "fire (model.profile: clip detects fall, fire, smoke and intrusion)",
                camera_id,
                self.scorer.name,
                ", ".join(unscored),
            )

    def remove_camera(self, camera_id: str) -> None:
        """Stop watching a camera; its open incidents are closed."""
        assert self.supervisor is not None
        packets = self.supervisor.packet_buffer(camera_id)  # its clips still need it
        self.supervisor.remove(camera_id)
        self.pipeline.remove(camera_id, packets)

    def watches(self, camera_id: str) -> bool:
        """True if ``camera_id`` is watched now."""
        return camera_id in self.pipeline

    def latest_frame(self, camera_id: str) -> Frame | None:
        """The newest frame processed of a watched camera (None: none yet, or not watched)."""
        return self.pipeline.latest_frame(camera_id)

    def lanes(self) -> list[LaneState]:
        """Every watched camera with its health, newest frame and open incidents."""
        return self.pipeline.states(self.camera_statuses())

    def camera_statuses(self) -> dict[str, CameraStatus]:
        """Health of every watched camera (state, reason, last error; passwords masked)."""
        return self.supervisor.statuses() if self.supervisor is not None else {}

    def stream_positions(self) -> dict[str, float]:
        """Stream time (pts) of the newest frame processed, per camera."""
        return self.pipeline.stream_positions()

    def _packets_of(self, camera_id: str) -> PacketBuffer | None:
        return self.supervisor.packet_buffer(camera_id) if self.supervisor is not None else None

    # -- stop ------------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Ask the run loop to finish (safe from signal handlers and other threads)."""
        self._stop.set()

    def stop(self) -> None:
        """Stop in reverse start order: sources (closing open incidents), reports, bus, DB.

        Returns within about ``stop_timeout_s`` whatever the database does: accepted updates
        the database has not stored by then stay in the journal for the next start.
        """
        self._stop.set()
        deadline = time.monotonic() + self.stop_timeout_s  # real time: a promise to the caller

        def left(cap: float) -> float:
            return max(0.1, min(cap, deadline - time.monotonic()))

        for step in reversed(self._started):
            if step == "sources":
                self._stop_sources(left(1.5))
                step = "clips"  # at once: the closes waiting on a clip go on before the rest
            try:
                self._stop_step(step, left)
            except Exception:
                log.exception("error while stopping %s", step)
        self._started.clear()
        if self.stats.lost:
            log.error(
                "vigil stopped; %d incident update(s) could not be kept (see the errors above)",
                self.stats.lost,
            )
        else:
            log.info("vigil stopped")

    def _stop_step(self, step: str, left: Callable[[float], float]) -> None:
        """Stop one started step with what is left of the budget."""
        if step == "clips" and self.clip_writer is not None:
            self.clip_writer.stop(timeout_s=left(1.0))  # again later: nothing left
        elif step == "scorer" and self.scorer is not None and self._own_scorer:
            self.scorer.close()
        elif step == "reports" and self.reports is not None:
            self.reports.stop(timeout_s=left(1.0))
        elif step == "publisher" and self.publisher is not None:
            if self.recorder is not None:  # the last updates, so they are published
                self.recorder.wait_idle(left(1.0))
            self.publisher.stop(drain_timeout_s=left(1.0), join_timeout_s=left(1.5))
        elif step == "retention" and self.sweeper is not None:
            self.sweeper.stop(timeout_s=left(0.5))
        elif step == "recorder" and self.recorder is not None:
            self.recorder.stop(timeout_s=left(3.0))
            self.stats.lost += self.recorder.stats.lost
        elif step == "storage" and self.store is not None and self.storage.owns_store:
            self.store.close()

    def _stop_sources(self, timeout_s: float) -> None:
        # each step on its own: a failure in one must not skip closing the incidents
        supervisor = self.supervisor
        steps: list[tuple[str, Callable[[], None]]] = [
            ("readers", (lambda: supervisor.stop(timeout_s)) if supervisor else lambda: None),
            ("queued frames", self._drain_queue),
            ("open incidents", lambda: self._finish_all("shutdown")),
        ]
        for name, fn in steps:
            try:
                fn()
            except Exception:
                log.exception("error while stopping sources: %s", name)

    # -- the inference loop ----------------------------------------------------------------

    def run(self, *, progress: Callable[[RunStats], None] | None = None) -> RunStats:
        """Process frames until stopped, or until every source has ended (files)."""
        assert self.queue is not None and self.supervisor is not None
        last_tick = last_end_check = self.clock.monotonic()
        while not self._stop.is_set():
            frames = self.queue.get_batch(self.max_batch, timeout_s=0.2)
            if frames:
                self.pipeline.process(frames)
                if progress is not None:
                    progress(self.stats)
            if self.pace and self.clock.monotonic() - last_tick >= TICK_S:
                last_tick = self.clock.monotonic()
                self.pipeline.tick()
            if self.clock.monotonic() - last_end_check >= TICK_S:
                last_end_check = self.clock.monotonic()
                self._finish_ended_cameras()
            if not frames and self.supervisor.ended():
                self._drain_queue()
                self._finish_all("stream_ended")
                break
        return self.stats

    def _drain_queue(self) -> None:
        if self.queue is None:
            return
        while True:
            frames = self.queue.get_batch(self.max_batch, timeout_s=0.0)
            if not frames:
                return
            self.pipeline.process(frames)

    def _finish_all(self, reason: str) -> None:
        self.pipeline.finish_all(reason)

    def _finish_ended_cameras(self) -> None:
        """Close the incidents of each camera whose stream ended (a file played to its end)
        while other cameras go on; without this they stayed open until Vigil stopped."""
        assert self.supervisor is not None
        ended = [
            cid
            for cid, st in self.supervisor.statuses().items()
            if st.state is CameraState.ENDED and cid not in self._ended and cid in self.pipeline
        ]
        if not ended:
            return
        self._drain_queue()  # their last frames first
        for cid in ended:
            self._ended.add(cid)
            self.pipeline.finish_camera(cid, "stream_ended", self.supervisor.packet_buffer(cid))

    # -- storage callbacks -----------------------------------------------------------------

    def _stored(self) -> None:
        """The database took an entry: the publisher has a new outbox row."""
        if self.publisher is not None:
            self.publisher.notify()

    def _lost(self) -> None:
        self.stats.lost += 1

    def _add_media(self, ref: MediaRef) -> None:
        if self.intake is not None:
            self.intake.accept_media(ref)
