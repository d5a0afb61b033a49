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

import datetime
import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from detectors.lifecycle import CameraDetector
from detectors.types import IncidentUpdate, UpdateKind
from engines.factory import build_scorer
from engines.types import Scorer, Scores
from reports.evidence import CameraInfo, Evidence, build_evidence
from reports.service import ReportService
from reports.types import Report
from storage.annotate import Annotation, annotate
from storage.clips import ClipJob, ClipWriter
from storage.errors import MediaError
from storage.journal import Entry, Journal, JournalError, Pending, import_legacy_spool
from storage.media import ClipCollector, MediaStore, RetentionSweeper
from storage.paths import path_problems
from storage.publisher import OutboxPublisher
from storage.recorder import DurableRecorder, interrupted_closes
from storage.records import MediaRef
from storage.store import Store
from streamer.prebuffer import PacketBuffer
from streamer.queue import FrameQueue
from streamer.source import SourceSpec
from streamer.state import CameraStatus
from streamer.supervisor import Supervisor
from streamer.throttle import LogThrottle
from streamer.types import Frame, Window
from streamer.window import WindowBuffer
from vigil.config import CameraConfig, VigilConfig

log = logging.getLogger(__name__)

UpdateCallback = Callable[[IncidentUpdate, Report | None], None]

#: Seconds between live ticks.
TICK_S = 1.0
#: Seconds of packets kept beyond a clip's span: the GOP before its start, and how far the
#: inference loop may lag the readers when the clip is due.
PACKET_BUFFER_MARGIN_S = 10.0
#: Name of the spool file older Vigil versions wrote beside the media directory.
LEGACY_SPOOL = "unsaved-updates.jsonl"


@dataclass
class _Clip:
    incident_id: str
    camera_id: str
    collector: ClipCollector


@dataclass
class RunStats:
    """What one run processed, and what it could not."""

    frames: int = 0
    batches: int = 0
    updates: int = 0
    opened: int = 0
    closed: int = 0
    by_camera: dict[str, int] = field(default_factory=dict)
    scorer_errors: int = 0
    bad_frames: int = 0
    #: Updates that could not be accepted durably (journal and database both failed).
    lost: int = 0


class App:
    """One Vigil process: cameras in, incidents out.

    ``add_camera`` and ``remove_camera`` may be called from any thread while ``run`` runs: the
    pipeline lock serialises them with frame processing.
    """

    def __init__(self, config: VigilConfig, *, pace: bool = True, max_batch: int = 8) -> None:
        self.config = config
        self.pace = pace
        self.max_batch = max_batch
        #: stop() returns within about this many seconds, whatever the database does
        #: (accepted updates not stored by then stay in the journal for the next start).
        self.stop_timeout_s = 4.5
        self.stats = RunStats()
        self._stop = threading.Event()
        self._started: list[str] = []
        self._on_update: list[UpdateCallback] = []
        self._windows: dict[str, WindowBuffer] = {}
        self._detectors: dict[str, CameraDetector] = {}
        self._cameras: dict[str, CameraConfig] = {}
        self._last_frame: dict[str, Frame] = {}
        self._arrival: dict[str, float] = {}
        self._clips: list[_Clip] = []
        self._scorer_error_log = LogThrottle(10.0)
        self._lock = threading.RLock()
        self.store: Store | None = None
        self.recorder: DurableRecorder | None = None
        self.media: MediaStore | None = None
        self.publisher: OutboxPublisher | None = None
        self.reports: ReportService | None = None
        self.scorer: Scorer | None = None
        self.queue: FrameQueue | None = None
        self.supervisor: Supervisor | None = None
        self.sweeper: RetentionSweeper | None = None
        self.clip_writer: ClipWriter | None = None

    # -- start / stop ----------------------------------------------------------------------

    def on_update(self, callback: UpdateCallback) -> None:
        """Call ``callback(update, report)`` for every incident update once it is handled."""
        self._on_update.append(callback)

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
            len(self._cameras),
            self.config.model.profile,
        )

    def _open_storage(self) -> None:
        problems = path_problems(self.config.storage)
        if problems:  # retention sweeps media_dir: never start on a folder it could harm
            raise MediaError("; ".join(str(p) for p in problems))
        self.store = Store.open(self.config.storage)
        self._started.append("storage")
        self.recorder = DurableRecorder(
            self.store, Journal(self.config.storage.journal_path()), on_stored=self._stored
        )
        found = self.recorder.start()  # JournalError if the journal cannot be written
        self._started.append("recorder")
        legacy = Path(self.config.storage.media_dir).expanduser().resolve().parent / LEGACY_SPOOL
        imported = import_legacy_spool(legacy, self.recorder.submit_update)
        self._close_interrupted(found.entries + tuple(imported))
        self.media = MediaStore(self.config.storage)
        self.sweeper = RetentionSweeper(self.media, self.store)
        self.sweeper.start()
        self._started.append("retention")
        self.clip_writer = ClipWriter(self.media)
        self.clip_writer.start()
        self._started.append("clips")

    def _close_interrupted(self, replayed: tuple[Entry, ...]) -> None:
        """Close, before any camera starts, the incidents an earlier process left open."""
        assert self.store is not None and self.recorder is not None
        for upd in interrupted_closes(self.store, replayed, now_s=time.time()):
            log.warning(
                "incident %s (%s on %s) was left open by an earlier run: closed as %s",
                upd.incident_id,
                upd.event_type,
                upd.camera_id,
                upd.close_reason,
            )
            self._accept(Pending(upd))

    def _start_publisher(self) -> None:
        assert self.store is not None
        self.publisher = OutboxPublisher(self.store, self.config.bus)
        self.publisher.start()
        self._started.append("publisher")

    def _start_reports(self) -> None:
        self.reports = ReportService(self.config.reports, on_report=self._generated_report)
        self._started.append("reports")

    def _load_scorer(self) -> None:
        self.scorer = build_scorer(self.config.model)
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

    def add_camera(self, cam: CameraConfig) -> None:
        """Start watching a camera (others are not touched)."""
        assert self.store is not None and self.supervisor is not None
        with self._lock:
            if cam.id in self._detectors:
                raise ValueError(f"camera {cam.id!r} is already watched")
            self.store.upsert_camera(
                camera_id=cam.id,
                name=cam.display_name,
                location=cam.location,
                url_masked=cam.masked_url,
            )
            rules = {ev: rule.resolved(ev) for ev, rule in cam.events.items()}
            if self.scorer is not None:
                unscored = sorted(set(rules) - set(self.scorer.events))
                if unscored:
                    log.warning(
                        "camera %s: the %s scorer does not detect %s; those events will not "
                        "fire (model.profile: clip detects fall, fire, smoke and intrusion)",
                        cam.id,
                        self.scorer.name,
                        ", ".join(unscored),
                    )
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
            self._cameras[cam.id] = cam
            self._windows[cam.id] = WindowBuffer(
                cam.id,
                self.config.model.window_s,
                keep_before_s=self.config.storage.media.clip_before_s,
            )
            self._detectors[cam.id] = CameraDetector(cam.id, rules, cam.zones)
        log.info("camera %s added (%s, %.1f fps)", cam.id, cam.masked_url, cam.fps)

    def remove_camera(self, camera_id: str) -> None:
        """Stop watching a camera; its open incidents are closed."""
        assert self.supervisor is not None
        packets = self.supervisor.packet_buffer(camera_id)  # its clips still need it
        self.supervisor.remove(camera_id)
        with self._lock:
            det = self._detectors.pop(camera_id, None)
            self._windows.pop(camera_id, None)
            self._cameras.pop(camera_id, None)
            self._arrival.pop(camera_id, None)
            last = self._last_frame.pop(camera_id, None)
            if det is not None:
                ts = last.ts_s if last is not None else time.time()
                self._handle(det.finish(ts, "camera_removed"))
            for clip in [c for c in self._clips if c.camera_id == camera_id]:
                self._encode_clip(clip, self._record_clip, packets=packets)
            if self.scorer is not None:
                self.scorer.reset(camera_id)

    def camera_statuses(self) -> dict[str, CameraStatus]:
        """Health of every watched camera (state, reason, last error; passwords masked)."""
        return self.supervisor.statuses() if self.supervisor is not None else {}

    def stream_positions(self) -> dict[str, float]:
        """Stream time (pts) of the newest frame processed, per camera."""
        with self._lock:
            return {cam: f.pts_s for cam, f in self._last_frame.items()}

    def request_stop(self) -> None:
        """Ask the run loop to finish (safe from signal handlers and other threads)."""
        self._stop.set()

    def stop(self) -> None:
        """Stop in reverse start order: sources (closing open incidents), reports, bus, DB.

        Returns within about ``stop_timeout_s`` whatever the database does: accepted updates
        the database has not stored by then stay in the journal for the next start.
        """
        self._stop.set()
        deadline = time.monotonic() + self.stop_timeout_s

        def left(cap: float) -> float:
            return max(0.1, min(cap, deadline - time.monotonic()))

        for step in reversed(self._started):
            if step == "sources":
                self._stop_sources(left(1.5))
                step = "clips"  # at once: the closes waiting on a clip go on before the rest
            try:
                if step == "clips" and self.clip_writer is not None:
                    self.clip_writer.stop(timeout_s=left(1.0))  # again later: nothing left
                elif step == "scorer" and self.scorer is not None:
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
                elif step == "storage" and self.store is not None:
                    self.store.close()
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
        last_tick = time.monotonic()
        while not self._stop.is_set():
            frames = self.queue.get_batch(self.max_batch, timeout_s=0.2)
            if frames:
                self._process(frames)
                if progress is not None:
                    progress(self.stats)
            if self.pace and time.monotonic() - last_tick >= TICK_S:
                last_tick = time.monotonic()
                with self._lock:
                    self._tick_live()
            if not frames and self.supervisor.ended():
                self._drain_queue()
                self._finish_all("stream_ended")
                break
        return self.stats

    def _tick_live(self) -> None:
        """Advance each camera's detector on that camera's own clock while it sends nothing.

        A camera's clock is its newest frame's time plus the time since that frame arrived, so
        a camera whose stream time lags the wall clock is not closed early.
        """
        now = time.monotonic()
        for cam_id, det in list(self._detectors.items()):
            last = self._last_frame.get(cam_id)
            if last is None:
                continue
            cam_now = last.ts_s + (now - self._arrival.get(cam_id, now))
            self._handle(det.tick(cam_now))

    def _drain_queue(self) -> None:
        if self.queue is None:
            return
        while True:
            frames = self.queue.get_batch(self.max_batch, timeout_s=0.0)
            if not frames:
                return
            self._process(frames)

    def _process(self, frames: list[Frame]) -> None:
        with self._lock:
            batch, windows = self._windowed(frames)
            if batch:
                scores = self._score(batch, windows)
                if scores is not None:
                    self._detect(batch, scores)

    def _windowed(self, frames: list[Frame]) -> tuple[list[Frame], list[Window]]:
        batch: list[Frame] = []
        windows: list[Window] = []
        for f in frames:
            buf = self._windows.get(f.camera_id)
            if buf is None:
                continue  # camera removed meanwhile
            last = self._last_frame.get(f.camera_id)
            if last is not None and last.image.shape != f.image.shape:
                log.info(
                    "camera %s: resolution changed %s -> %s",
                    f.camera_id,
                    last.image.shape[:2],
                    f.image.shape[:2],
                )
                buf.clear()
            try:
                buf.push(f)
            except ValueError as exc:
                self.stats.bad_frames += 1
                log.warning("camera %s: frame skipped: %s", f.camera_id, exc)
                continue
            self._last_frame[f.camera_id] = f
            self._arrival[f.camera_id] = time.monotonic()
            batch.append(f)
            windows.append(buf.snapshot())
        return batch, windows

    def _score(self, batch: list[Frame], windows: list[Window]) -> list[Scores] | None:
        assert self.scorer is not None
        try:
            scores = self.scorer.score_batch(batch, windows)
        except Exception:
            # a failing batch costs its frames, never the process
            self.stats.scorer_errors += len(batch)
            if self._scorer_error_log.ready():
                log.exception(
                    "scorer failed on a batch of %d frame(s) (%d so far); skipped",
                    len(batch),
                    self.stats.scorer_errors,
                )
            return None
        self.stats.batches += 1
        return scores

    def _detect(self, batch: list[Frame], scores: list[Scores]) -> None:
        for f, sc in zip(batch, scores, strict=True):
            self.stats.frames += 1
            self.stats.by_camera[f.camera_id] = self.stats.by_camera.get(f.camera_id, 0) + 1
            self._feed_clips(f)
            det = self._detectors.get(f.camera_id)
            if det is not None:
                self._handle(det.update(sc), frame=f)

    def _finish_all(self, reason: str) -> None:
        with self._lock:
            for cam_id, det in list(self._detectors.items()):
                last = self._last_frame.get(cam_id)
                ts = last.ts_s if last is not None else time.time()
                self._handle(det.finish(ts, reason))
            for clip in list(self._clips):
                self._encode_clip(clip, self._record_clip)

    # -- incidents -------------------------------------------------------------------------

    def _handle(self, updates: list[IncidentUpdate], frame: Frame | None = None) -> None:
        for upd in updates:
            self.stats.updates += 1
            media: list[MediaRef] = []
            clips: list[_Clip] = []
            if upd.kind is UpdateKind.OPEN:
                self.stats.opened += 1
                if frame is not None:
                    media.extend(self._save_keyframes(upd, frame))
                    self._start_clip(upd)
            elif upd.kind is UpdateKind.CLOSE:
                self.stats.closed += 1
                clips = [c for c in self._clips if c.incident_id == upd.incident_id]
            cam = self._cameras.get(upd.camera_id)
            info = CameraInfo(
                camera_id=upd.camera_id,
                name=cam.display_name if cam else upd.camera_id,
                location=cam.location if cam else None,
            )
            evidence = build_evidence(
                upd,
                camera=info,
                site=self.config.site,
                timezone=self.config.timezone,
                keyframes=[m.path for m in media if m.kind.startswith("keyframe")],
            )
            report: Report | None = None
            if upd.kind in (UpdateKind.OPEN, UpdateKind.CLOSE) and self.reports is not None:
                report = self.reports.initial(evidence)
            item = Pending(upd, report, media)
            deliver = functools.partial(self._deliver, item, evidence)
            writer = self.clip_writer
            if clips:  # the clip first (on the clip thread), so that the close message has it
                for extra in clips[1:]:
                    self._encode_clip(extra, self._record_clip)
                self._encode_clip(clips[0], deliver, late=self._record_clip)
            elif (
                upd.kind is UpdateKind.CLOSE
                and writer is not None
                and writer.pending_for(upd.incident_id)
            ):  # its clip is still being encoded: the close goes after it
                writer.submit(ClipJob(upd.incident_id, (), 0.0, deliver))
            else:
                deliver(None)

    def _deliver(self, item: Pending, evidence: Evidence, clip: MediaRef | None) -> None:
        """Accept an update (with its clip, if one was waited for) and tell the listeners."""
        if clip is not None:
            item.media.append(clip)
        upd = item.update
        self._accept(item)
        if upd.kind is UpdateKind.CLOSE and self.reports is not None:
            self.reports.submit(evidence)
        for cb in self._on_update:
            try:
                cb(upd, item.report)
            except Exception:
                log.exception("incident update callback failed")

    def _accept(self, item: Pending) -> None:
        """Hand an update to the durable recorder (journal first, then the database)."""
        assert self.recorder is not None
        try:
            self.recorder.submit_update(item)
        except JournalError:
            self._store_directly(item)

    def _store_directly(self, item: Pending) -> None:
        """The journal refused (disk full?): try the database at once, else count a loss."""
        assert self.store is not None
        upd = item.update
        try:
            self.store.record(upd, report=item.report)
            for ref in item.media:
                self.store.add_media(ref)
        except Exception as exc:
            self.stats.lost += 1
            log.error(
                "incident %s version %d LOST: neither the journal nor the database took it: %s",
                upd.incident_id,
                upd.version,
                exc,
            )
            return
        log.error(
            "incident %s version %d stored directly; the journal cannot be written",
            upd.incident_id,
            upd.version,
        )
        self._stored(None)

    def _stored(self, _entry: Entry | None) -> None:
        """The database took an entry: the publisher has a new outbox row."""
        if self.publisher is not None:
            self.publisher.notify()

    def _generated_report(self, report: Report) -> None:
        """A report from the LLM backend (or its fallback) arrived on a worker thread."""
        if self.recorder is None:
            return
        try:
            self.recorder.submit_report(report)
        except JournalError:
            log.error(
                "generated report of incident %s not kept (the template report stands)",
                report.incident_id,
            )

    def _add_media(self, ref: MediaRef) -> None:
        if self.recorder is None:
            return
        try:
            self.recorder.submit_media(ref)
        except JournalError as exc:
            log.warning("media %s not recorded: %s", ref.path, exc)

    # -- media -----------------------------------------------------------------------------

    def _save_keyframes(self, upd: IncidentUpdate, frame: Frame) -> list[MediaRef]:
        """The onset frame twice: clean, and annotated with what scored, where and when."""
        if self.media is None:
            return []
        saved: list[MediaRef] = []
        try:
            saved.append(
                self.media.save_keyframe(upd.incident_id, frame.image, frame.ts_s, "onset")
            )
            cam = self._cameras.get(upd.camera_id)
            local = datetime.datetime.fromtimestamp(frame.ts_s, self.config.tz)
            note = Annotation(
                event_type=upd.event_type,
                score=upd.score,
                camera=cam.display_name if cam else upd.camera_id,
                local_time=local.strftime("%Y-%m-%d %H:%M:%S %Z"),
                region=upd.region,
                zone=upd.zone,
            )
            saved.append(
                self.media.save_keyframe(
                    upd.incident_id, annotate(frame.image, note), frame.ts_s, "annotated"
                )
            )
        except Exception as exc:
            log.warning("incident %s: keyframe not saved: %s", upd.incident_id, exc)
        return saved

    def _start_clip(self, upd: IncidentUpdate) -> None:
        buf = self._windows.get(upd.camera_id)
        if buf is None or self.media is None:
            return
        media_cfg = self.config.storage.media
        collector = ClipCollector(
            buf.history(since_pts_s=upd.onset_pts_s - media_cfg.clip_before_s),
            onset_pts_s=upd.onset_pts_s,
            before_s=media_cfg.clip_before_s,
            after_s=media_cfg.clip_after_s,
        )
        self._clips.append(_Clip(upd.incident_id, upd.camera_id, collector))

    def _feed_clips(self, frame: Frame) -> None:
        for clip in list(self._clips):
            if clip.camera_id == frame.camera_id and clip.collector.add(frame):
                self._encode_clip(clip, self._record_clip)

    def _record_clip(self, ref: MediaRef | None) -> None:
        """A clip written after its incident's update: journalled (stored) after it."""
        if ref is not None:
            self._add_media(ref)

    def _encode_clip(
        self,
        clip: _Clip,
        done: Callable[[MediaRef | None], None],
        *,
        late: Callable[[MediaRef], None] | None = None,
        packets: PacketBuffer | None = None,
    ) -> None:
        """Hand a clip to the clip thread; ``done`` runs exactly once (``None``: no clip).

        The camera's own packets make the clip when its buffer holds the span (full frame
        rate); the sampled frames are the fallback.
        """
        if clip in self._clips:
            self._clips.remove(clip)
        frames = clip.collector.frames
        if self.media is None or self.clip_writer is None or len(frames) < 2:
            done(None)
            return
        cam = self._cameras.get(clip.camera_id)
        fps = cam.fps if cam is not None else 2.0
        if packets is None and self.supervisor is not None:
            packets = self.supervisor.packet_buffer(clip.camera_id)
        packet_clip = None
        if packets is not None:
            c = clip.collector
            packet_clip = packets.clip(
                c.onset_pts_s - c.before_s, min(frames[-1].pts_s + 1.0 / fps, c.done_at_pts_s)
            )
        self.clip_writer.submit(
            ClipJob(
                clip.incident_id,
                frames,
                fps,
                done,
                late or self._record_clip,
                packets=packet_clip,
            )
        )
