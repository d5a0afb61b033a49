"""Incident handling: from a detector's update to an accepted update its listeners hear of.

On OPEN the onset keyframes are saved and the clip starts; every update gets its evidence and,
on OPEN and CLOSE, the template report; a CLOSE first has its clip written (on the clip
thread, so that the close carries it); then the update is accepted durably, a CLOSE is queued
for the generated report, and the listeners are told.
"""

from __future__ import annotations

import datetime
import functools
import logging
import threading
from collections.abc import Callable

from detectors.types import IncidentUpdate, UpdateKind
from reports.evidence import CameraInfo, Evidence, build_evidence
from reports.service import ReportService
from reports.types import Report
from storage.clip_recorder import ClipRecorder
from storage.intake import Intake
from storage.journal import Pending
from storage.keyframes import save_keyframes
from storage.media import MediaStore
from storage.records import MediaRef
from streamer.types import Frame
from vigil.config import CameraConfig
from vigil.lanes import RunStats

log = logging.getLogger(__name__)

UpdateCallback = Callable[[IncidentUpdate, Report | None], None]


class Listeners:
    """Who hears of accepted incident updates; subscribe and unsubscribe from any thread."""

    def __init__(self) -> None:
        self._callbacks: list[UpdateCallback] = []
        self._lock = threading.Lock()

    def subscribe(self, callback: UpdateCallback) -> Callable[[], None]:
        """Call ``callback(update, report)`` for every accepted update; returns unsubscribe."""
        with self._lock:
            self._callbacks.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return unsubscribe

    def notify(self, upd: IncidentUpdate, report: Report | None) -> None:
        """Tell every listener; a failing one is logged and the others still hear."""
        with self._lock:
            callbacks = list(self._callbacks)
        for cb in callbacks:
            try:
                cb(upd, report)
            except Exception:
                log.exception("incident update callback failed")


class IncidentHandler:
    """Turns detector updates into accepted incident updates (see the module docstring).

    ``camera_of(camera_id)`` is the camera's config while it is watched; ``history_of`` its
    window's frames since a stream time (for the clip before the onset).
    """

    def __init__(
        self,
        *,
        site: str,
        timezone: str,
        tz: datetime.tzinfo,
        intake: Intake,
        clips: ClipRecorder,
        media: MediaStore | None,
        reports: ReportService | None,
        listeners: Listeners,
        stats: RunStats,
        camera_of: Callable[[str], CameraConfig | None],
        history_of: Callable[[str, float], list[Frame] | None],
    ) -> None:
        self.site = site
        self.timezone = timezone
        self.tz = tz
        self.intake = intake
        self.clips = clips
        self.media = media
        self.reports = reports
        self.listeners = listeners
        self.stats = stats
        self._camera_of = camera_of
        self._history_of = history_of

    def handle(self, updates: list[IncidentUpdate], frame: Frame | None = None) -> None:
        """Handle a detector's updates (``frame``: the frame that caused them, if any)."""
        for upd in updates:
            self._handle_one(upd, frame)

    def _handle_one(self, upd: IncidentUpdate, frame: Frame | None) -> None:
        self.stats.updates += 1
        media: list[MediaRef] = []
        if upd.kind is UpdateKind.OPEN:
            self.stats.opened += 1
            if frame is not None:
                media.extend(self._onset_media(upd, frame))
        elif upd.kind is UpdateKind.CLOSE:
            self.stats.closed += 1
        evidence = self._evidence(upd, media)
        report: Report | None = None
        if upd.kind in (UpdateKind.OPEN, UpdateKind.CLOSE) and self.reports is not None:
            report = self.reports.initial(evidence)
        deliver = functools.partial(self._deliver, Pending(upd, report, media), evidence)
        self._after_clips(upd, deliver)

    def _onset_media(self, upd: IncidentUpdate, frame: Frame) -> list[MediaRef]:
        """The onset keyframes; the clip starts collecting."""
        saved: list[MediaRef] = []
        if self.media is not None:
            cam = self._camera_of(upd.camera_id)
            saved = save_keyframes(
                self.media,
                upd,
                frame,
                camera_name=cam.display_name if cam else upd.camera_id,
                tz=self.tz,
            )
        history = self._history_of(
            upd.camera_id, upd.onset_pts_s - self.clips.settings.clip_before_s
        )
        if history is not None:
            self.clips.start(upd, history)
        return saved

    def _evidence(self, upd: IncidentUpdate, media: list[MediaRef]) -> Evidence:
        cam = self._camera_of(upd.camera_id)
        info = CameraInfo(
            camera_id=upd.camera_id,
            name=cam.display_name if cam else upd.camera_id,
            location=cam.location if cam else None,
        )
        return build_evidence(
            upd,
            camera=info,
            site=self.site,
            timezone=self.timezone,
            keyframes=[m.path for m in media if m.kind.startswith("keyframe")],
        )

    def _after_clips(self, upd: IncidentUpdate, deliver: Callable[[MediaRef | None], None]) -> None:
        """Deliver at once, or (a CLOSE) once its clip is written, so that it carries it."""
        clips = self.clips.take(upd.incident_id) if upd.kind is UpdateKind.CLOSE else []
        if clips:  # the clip first (on the clip thread), so that the close message has it
            for extra in clips[1:]:
                self.clips.encode(extra, self.clips.record_late)
            self.clips.encode(clips[0], deliver, late=self.clips.record_late)
        elif upd.kind is UpdateKind.CLOSE and self.clips.pending_for(upd.incident_id):
            self.clips.after_pending(upd.incident_id, deliver)  # its clip is being encoded
        else:
            deliver(None)

    def _deliver(self, item: Pending, evidence: Evidence, clip: MediaRef | None) -> None:
        """Accept an update (with its clip, if one was waited for) and tell the listeners."""
        if clip is not None:
            item.media.append(clip)
        upd = item.update
        self.intake.accept(item)
        if upd.kind is UpdateKind.CLOSE and self.reports is not None:
            self.reports.submit(evidence)
        self.listeners.notify(upd, item.report)
