"""The application: wires the stages together, starts them in order and stops them in reverse.

Data flow: Supervisor (reader threads) -> FrameQueue -> inference loop (window buffers, scorer,
detectors) -> reports -> one DB transaction per update (incident, report, outbox) -> publisher
(Kafka or in-process subscribers).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from detectors.lifecycle import CameraDetector
from detectors.types import IncidentUpdate, UpdateKind
from engines.factory import build_scorer
from engines.types import Scorer
from reports.evidence import CameraInfo, build_evidence
from reports.service import ReportService
from reports.types import Report
from storage.errors import StorageError
from storage.media import ClipCollector, MediaStore, RetentionSweeper
from storage.publisher import OutboxPublisher
from storage.records import MediaRef
from storage.store import Store
from streamer.queue import FrameQueue
from streamer.source import SourceSpec
from streamer.supervisor import Supervisor
from streamer.types import Frame
from streamer.window import WindowBuffer
from vigil.config import CameraConfig, VigilConfig

log = logging.getLogger(__name__)

UpdateCallback = Callable[[IncidentUpdate, Report | None], None]


@dataclass
class _Clip:
    incident_id: str
    camera_id: str
    collector: ClipCollector


@dataclass
class RunStats:
    """What one run processed."""

    frames: int = 0
    batches: int = 0
    updates: int = 0
    opened: int = 0
    closed: int = 0
    by_camera: dict[str, int] = field(default_factory=dict)


def _update_json(upd: IncidentUpdate) -> dict[str, object]:
    """An incident update as plain JSON (for the spool file)."""
    data = dataclasses.asdict(upd)
    data["kind"] = upd.kind.value
    return data


class App:
    """One Vigil process: cameras in, incidents out."""

    def __init__(self, config: VigilConfig, *, pace: bool = True, max_batch: int = 8) -> None:
        self.config = config
        self.pace = pace
        self.max_batch = max_batch
        self.stats = RunStats()
        self._stop = threading.Event()
        self._started: list[str] = []
        self._on_update: list[UpdateCallback] = []
        self._windows: dict[str, WindowBuffer] = {}
        self._detectors: dict[str, CameraDetector] = {}
        self._cameras: dict[str, CameraConfig] = {}
        self._last_frame: dict[str, Frame] = {}
        self._clips: list[_Clip] = []
        self._unsaved: list[tuple[IncidentUpdate, Report | None]] = []
        self._unsaved_logged = float("-inf")
        self._lock = threading.Lock()
        self.store: Store | None = None
        self.media: MediaStore | None = None
        self.publisher: OutboxPublisher | None = None
        self.reports: ReportService | None = None
        self.scorer: Scorer | None = None
        self.queue: FrameQueue | None = None
        self.supervisor: Supervisor | None = None
        self.sweeper: RetentionSweeper | None = None

    # -- start / stop ----------------------------------------------------------------------

    def on_update(self, callback: UpdateCallback) -> None:
        """Call ``callback(update, report)`` for every incident update after it is stored."""
        self._on_update.append(callback)

    def start(self) -> None:
        """Start every stage, in data-flow order from storage up to the sources."""
        self._open_storage()
        self._start_publisher()
        self._start_reports()
        self._load_scorer()
        self._start_sources()
        log.info(
            "vigil started: site %s, %d camera(s), profile %s",
            self.config.site,
            len(self._cameras),
            self.config.model.profile,
        )

    def _open_storage(self) -> None:
        self.store = Store.open(self.config.storage)
        self.media = MediaStore(self.config.storage)
        self._started.append("storage")
        self.sweeper = RetentionSweeper(self.media, self.store)
        self.sweeper.start()
        self._started.append("retention")

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
        self.supervisor = Supervisor(config=self.config.streamer, queue=self.queue, pace=self.pace)
        self._started.append("sources")
        for cam in self.config.cameras:
            if cam.enabled:
                self.add_camera(cam)

    def add_camera(self, cam: CameraConfig) -> None:
        """Start watching a camera (others are not touched)."""
        assert self.store is not None and self.supervisor is not None
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
                    "camera %s: the %s scorer does not detect %s; those events will not fire "
                    "(model.profile: clip detects fall, fire, smoke and intrusion)",
                    cam.id,
                    self.scorer.name,
                    ", ".join(unscored),
                )
        with self._lock:
            self._cameras[cam.id] = cam
            self._windows[cam.id] = WindowBuffer(
                cam.id,
                self.config.model.window_s,
                keep_before_s=self.config.storage.media.clip_before_s,
            )
            self._detectors[cam.id] = CameraDetector(cam.id, rules, cam.zones)
        self.supervisor.add(
            SourceSpec(camera_id=cam.id, url=cam.url, fps=cam.fps, transport=cam.transport)
        )
        log.info("camera %s added (%s, %.1f fps)", cam.id, cam.masked_url, cam.fps)

    def remove_camera(self, camera_id: str) -> None:
        """Stop watching a camera; its open incidents are closed."""
        assert self.supervisor is not None
        self.supervisor.remove(camera_id)
        with self._lock:
            det = self._detectors.pop(camera_id, None)
            self._windows.pop(camera_id, None)
            self._cameras.pop(camera_id, None)
            last = self._last_frame.pop(camera_id, None)
        if det is not None:
            ts = last.ts_s if last is not None else time.time()
            self._handle(det.finish(ts, "camera_removed"))
        if self.scorer is not None:
            self.scorer.reset(camera_id)

    def stream_positions(self) -> dict[str, float]:
        """Stream time (pts) of the newest frame processed, per camera."""
        with self._lock:
            return {cam: f.pts_s for cam, f in self._last_frame.items()}

    def request_stop(self) -> None:
        """Ask the run loop to finish (safe from signal handlers and other threads)."""
        self._stop.set()

    def stop(self) -> None:
        """Stop in reverse start order: sources, then close open incidents, reports, bus, DB."""
        self._stop.set()
        steps = list(reversed(self._started))
        for step in steps:
            try:
                if step == "sources" and self.supervisor is not None:
                    self.supervisor.stop()
                    self._drain_queue()
                    self._finish_all("shutdown")
                    self._retry_unsaved_before_exit()
                elif step == "scorer" and self.scorer is not None:
                    self.scorer.close()
                elif step == "reports" and self.reports is not None:
                    self.reports.stop()
                elif step == "publisher" and self.publisher is not None:
                    self.publisher.stop()
                elif step == "retention" and self.sweeper is not None:
                    self.sweeper.stop()
                elif step == "storage" and self.store is not None:
                    self.store.close()
            except Exception:
                log.exception("error while stopping %s", step)
        self._started.clear()
        log.info("vigil stopped")

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
            if self._unsaved and time.monotonic() - last_tick >= 1.0:
                self._flush_unsaved()
            if self.pace and time.monotonic() - last_tick >= 1.0:
                # live time runs on without frames (a camera that went quiet): let incidents
                # whose merge gap has passed close
                last_tick = time.monotonic()
                now = time.time()
                with self._lock:
                    dets = list(self._detectors.values())
                for det in dets:
                    self._handle(det.tick(now))
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
            self._process(frames)

    def _process(self, frames: list[Frame]) -> None:
        assert self.scorer is not None
        batch: list[Frame] = []
        windows = []
        with self._lock:
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
                buf.push(f)
                self._last_frame[f.camera_id] = f
                batch.append(f)
                windows.append(buf.snapshot())
        if not batch:
            return
        scores = self.scorer.score_batch(batch, windows)
        self.stats.batches += 1
        for f, sc in zip(batch, scores, strict=True):
            self.stats.frames += 1
            self.stats.by_camera[f.camera_id] = self.stats.by_camera.get(f.camera_id, 0) + 1
            self._feed_clips(f)
            det = self._detectors.get(f.camera_id)
            if det is not None:
                self._handle(det.update(sc), frame=f)

    def _finish_all(self, reason: str) -> None:
        with self._lock:
            items = list(self._detectors.items())
        for cam_id, det in items:
            last = self._last_frame.get(cam_id)
            ts = last.ts_s if last is not None else time.time()
            self._handle(det.finish(ts, reason))
        for clip in list(self._clips):
            self._write_clip(clip)

    # -- incidents -------------------------------------------------------------------------

    def _handle(self, updates: list[IncidentUpdate], frame: Frame | None = None) -> None:
        for upd in updates:
            self.stats.updates += 1
            keyframe: MediaRef | None = None
            if upd.kind is UpdateKind.OPEN:
                self.stats.opened += 1
                if frame is not None:
                    keyframe = self._save_keyframe(upd, frame)
                    self._start_clip(upd)
            elif upd.kind is UpdateKind.CLOSE:
                self.stats.closed += 1
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
                keyframes=[keyframe.path] if keyframe is not None else [],
            )
            report: Report | None = None
            if upd.kind in (UpdateKind.OPEN, UpdateKind.CLOSE) and self.reports is not None:
                report = self.reports.initial(evidence)
            if upd.kind is UpdateKind.CLOSE:
                # the clip first, so that the close message carries it
                for clip in [c for c in self._clips if c.incident_id == upd.incident_id]:
                    self._write_clip(clip)
            self._record(upd, report)
            if keyframe is not None:
                self._add_media(keyframe)
            if upd.kind is UpdateKind.CLOSE and self.reports is not None:
                self.reports.submit(evidence)
            for cb in self._on_update:
                try:
                    cb(upd, report)
                except Exception:
                    log.exception("incident update callback failed")

    def _record(self, upd: IncidentUpdate, report: Report | None) -> None:
        """Store an update (with its report and outbox row) or keep it for a retry."""
        self._unsaved.append((upd, report))
        self._flush_unsaved()

    def _flush_unsaved(self) -> bool:
        """Write kept updates in order; False while the database refuses them."""
        assert self.store is not None
        while self._unsaved:
            upd, report = self._unsaved[0]
            try:
                self.store.record(upd, report=report)
            except StorageError as exc:
                now = time.monotonic()
                if now - self._unsaved_logged >= 10.0:
                    self._unsaved_logged = now
                    log.error(
                        "database write failed, %d incident update(s) kept for retry: %s",
                        len(self._unsaved),
                        exc,
                    )
                return False
            self._unsaved.pop(0)
            if self.publisher is not None:
                self.publisher.notify()
        return True

    def _retry_unsaved_before_exit(self, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self._unsaved and not self._flush_unsaved() and time.monotonic() < deadline:
            time.sleep(0.5)
        if self._unsaved:
            spool = Path(self.config.storage.media_dir).parent / "unsaved-updates.jsonl"
            try:
                spool.parent.mkdir(parents=True, exist_ok=True)
                with spool.open("a", encoding="utf-8") as fh:
                    for upd, _report in self._unsaved:
                        fh.write(json.dumps(_update_json(upd)) + "\n")
                log.error(
                    "database unavailable at exit: %d incident update(s) written to %s",
                    len(self._unsaved),
                    spool,
                )
            except OSError as exc:
                log.error(
                    "database and spool both unavailable: %d update(s) lost: %s",
                    len(self._unsaved),
                    exc,
                )

    def _generated_report(self, report: Report) -> None:
        """A report from the LLM backend (or its fallback) arrived on a worker thread."""
        if self.store is None:
            return
        try:
            self.store.add_report(report)
            if self.publisher is not None:
                self.publisher.notify()
        except Exception:
            log.exception("could not store the generated report of %s", report.incident_id)

    # -- media -----------------------------------------------------------------------------

    def _save_keyframe(self, upd: IncidentUpdate, frame: Frame) -> MediaRef | None:
        if self.media is None:
            return None
        try:
            return self.media.save_keyframe(upd.incident_id, frame.image, frame.ts_s, "onset")
        except Exception as exc:
            log.warning("incident %s: keyframe not saved: %s", upd.incident_id, exc)
            return None

    def _add_media(self, ref: MediaRef) -> None:
        if self.store is None:
            return
        try:
            self.store.add_media(ref)
        except Exception as exc:
            log.warning("media %s not recorded: %s", ref.path, exc)

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
                self._write_clip(clip)

    def _write_clip(self, clip: _Clip) -> None:
        if clip in self._clips:
            self._clips.remove(clip)
        frames = clip.collector.frames
        if self.media is None or len(frames) < 2:
            return
        cam = self._cameras.get(clip.camera_id)
        fps = cam.fps if cam is not None else 2.0
        try:
            ref = self.media.save_clip(clip.incident_id, frames, fps)
        except Exception as exc:
            log.warning("incident %s: clip not saved: %s", clip.incident_id, exc)
            return
        self._add_media(ref)
