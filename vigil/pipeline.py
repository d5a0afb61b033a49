"""The inference loop's state and steps: frames -> windows -> scores -> detector updates.

One :class:`~vigil.lanes.CameraLane` per watched camera. Frames are windowed per lane, scored in
one batch across cameras, and each lane's detector turns its scores into incident updates that
the :class:`~vigil.incidents.IncidentHandler` takes. All of it runs under one lock, which
adding or removing a camera from another thread takes too.
"""

from __future__ import annotations

import logging
import threading
import time

from detectors.types import IncidentUpdate
from engines.types import Scorer, Scores
from storage.clip_recorder import ClipRecorder
from streamer.clock import Clock
from streamer.prebuffer import PacketBuffer
from streamer.state import CameraStatus
from streamer.throttle import LogThrottle
from streamer.types import Frame, Window
from vigil.config import CameraConfig
from vigil.incidents import IncidentHandler
from vigil.lanes import CameraLane, LaneState, RunStats

log = logging.getLogger(__name__)


class Pipeline:
    """Lanes, scorer and detectors of one run; ``scorer`` and ``incidents`` are set at start."""

    def __init__(self, *, clips: ClipRecorder, stats: RunStats, clock: Clock) -> None:
        self.clips = clips
        self.stats = stats
        self.clock = clock
        self.scorer: Scorer | None = None
        self.incidents: IncidentHandler | None = None
        self.lock = threading.RLock()
        self._lanes: dict[str, CameraLane] = {}
        self._scorer_error_log = LogThrottle(10.0)

    # -- lanes -----------------------------------------------------------------------------

    def __contains__(self, camera_id: object) -> bool:
        return camera_id in self._lanes

    def __len__(self) -> int:
        return len(self._lanes)

    def add(self, lane: CameraLane) -> None:
        """Start processing a camera's frames."""
        with self.lock:
            self._lanes[lane.camera_id] = lane

    def remove(self, camera_id: str, packets: PacketBuffer | None) -> None:
        """Stop processing a camera: its open incidents close, its clips are written."""
        with self.lock:
            lane = self._lanes.pop(camera_id, None)
            if lane is not None:
                self._finish_lane(lane, "camera_removed")
            self.clips.finish_camera(camera_id, packets)
            if self.scorer is not None:
                self.scorer.reset(camera_id)

    def finish_camera(self, camera_id: str, reason: str, packets: PacketBuffer | None) -> None:
        """Close a camera's open incidents and write its clips, keeping its lane (its stream
        ended while other cameras go on)."""
        with self.lock:
            lane = self._lanes.get(camera_id)
            if lane is not None:
                self._finish_lane(lane, reason)
            self.clips.finish_camera(camera_id, packets)

    def _finish_lane(self, lane: CameraLane, reason: str) -> None:
        last = lane.last_frame
        ts = last.ts_s if last is not None else self.clock.wall()
        self._handle(lane.detector.finish(ts, reason))

    def states(self, statuses: dict[str, CameraStatus]) -> list[LaneState]:
        """Every lane's state, with the supervisor's ``statuses``."""
        with self.lock:
            return [lane.state(statuses.get(cid)) for cid, lane in self._lanes.items()]

    def stream_positions(self) -> dict[str, float]:
        """Stream time (pts) of the newest frame processed, per camera."""
        with self.lock:
            return {
                cid: lane.last_frame.pts_s
                for cid, lane in self._lanes.items()
                if lane.last_frame is not None
            }

    def camera_of(self, camera_id: str) -> CameraConfig | None:
        """The config of a watched camera."""
        lane = self._lanes.get(camera_id)
        return lane.camera if lane is not None else None

    def latest_frame(self, camera_id: str) -> Frame | None:
        """The newest frame of a watched camera (None: none yet, or not watched)."""
        with self.lock:
            lane = self._lanes.get(camera_id)
            return lane.last_frame if lane is not None else None

    def fps_of(self, camera_id: str) -> float | None:
        """The sampling rate of a watched camera."""
        cam = self.camera_of(camera_id)
        return cam.fps if cam is not None else None

    def history_of(self, camera_id: str, since_pts_s: float) -> list[Frame] | None:
        """A watched camera's window frames since a stream time."""
        lane = self._lanes.get(camera_id)
        return lane.window.history(since_pts_s=since_pts_s) if lane is not None else None

    # -- steps -----------------------------------------------------------------------------

    def process(self, frames: list[Frame]) -> None:
        """Window, score and detect one batch of frames (any cameras)."""
        with self.lock:
            batch, windows = self._windowed(frames)
            if batch:
                scores = self._score(batch, windows)
                if scores is not None:
                    self._detect(batch, scores)

    def tick(self) -> None:
        """Advance each camera's detector on that camera's own clock while it sends nothing."""
        with self.lock:
            now = self.clock.monotonic()
            for lane in list(self._lanes.values()):
                cam_now = lane.clock_s(now)
                if cam_now is not None:
                    self._handle(lane.detector.tick(cam_now))

    def finish_all(self, reason: str) -> None:
        """Close every open incident (``reason``) and write the clips still collecting."""
        with self.lock:
            for lane in list(self._lanes.values()):
                self._finish_lane(lane, reason)
            self.clips.finish_all()

    def _windowed(self, frames: list[Frame]) -> tuple[list[Frame], list[Window]]:
        batch: list[Frame] = []
        windows: list[Window] = []
        for f in frames:
            lane = self._lanes.get(f.camera_id)
            if lane is None:
                continue  # camera removed meanwhile
            try:
                window = lane.push(f, self.clock.monotonic())
            except ValueError as exc:
                self.stats.bad_frames += 1
                log.warning("camera %s: frame skipped: %s", f.camera_id, exc)
                continue
            batch.append(f)
            windows.append(window)
        return batch, windows

    def _score(self, batch: list[Frame], windows: list[Window]) -> list[Scores] | None:
        assert self.scorer is not None
        started = time.perf_counter()
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
        self.stats.last_batch = len(batch)
        self.stats.last_score_s = time.perf_counter() - started
        self.stats.score_s += self.stats.last_score_s
        return scores

    def _detect(self, batch: list[Frame], scores: list[Scores]) -> None:
        for f, sc in zip(batch, scores, strict=True):
            self.stats.frames += 1
            self.stats.by_camera[f.camera_id] = self.stats.by_camera.get(f.camera_id, 0) + 1
            self.clips.feed(f)
            lane = self._lanes.get(f.camera_id)
            if lane is not None:
                self._handle(lane.detector.update(sc), frame=f)

    def _handle(self, updates: list[IncidentUpdate], frame: Frame | None = None) -> None:
        if updates:
            assert self.incidents is not None, "updates before the reports stage started"
            self.incidents.handle(updates, frame)
