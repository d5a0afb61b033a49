"""``CueScorer``: the per-frame features of the cue scorer (motion, foreground, blobs).

The temporal rules are in ``engines.cues.fall`` and ``engines.cues.fire``; the per-camera state
in ``engines.cues.state``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from engines.cues.fall import fall_score
from engines.cues.fire import fire_score
from engines.cues.motion import Stabilised, stabilise
from engines.cues.people import CueExtras, smoke_and_people
from engines.cues.state import Blob, CameraState
from engines.cues.tracking import find_blobs, update_tracks
from engines.plugins.runner import PluginRunner
from engines.settings import CUES_EVENTS, CuesConfig
from engines.types import Box, Scores
from streamer.types import Frame, Window

log = logging.getLogger(__name__)

_MOTION_DIFF = 18  # grey levels that count as a changed pixel
_GLOBAL_CHANGE = 0.35  # foreground fraction that means a lighting change, not objects


@dataclass(frozen=True)
class _Sample:
    """One sample's features before the temporal rules."""

    view: Stabilised
    motion: np.ndarray
    fg: np.ndarray
    blobs: list[Blob]
    global_change: bool


class CueScorer:
    """Scores ``fall``, ``fire``, ``smoke`` and ``intrusion`` (people, ``Scores.tracks``) from
    OpenCV cues; keeps per-camera state."""

    name = "cues"

    def __init__(self, config: CuesConfig | None = None) -> None:
        self.config = config or CuesConfig()
        self._cams: dict[str, CameraState] = {}
        # detector plugins (model.cues.plugins): person boxes feed tracking, classifiers vote
        self.plugins = PluginRunner(self.config.plugins) if self.config.plugins else None
        self._extras: dict[str, CueExtras] = {}  # smoke and people (engines.cues.people)

    @property
    def events(self) -> tuple[str, ...]:
        """Event types this scorer reports."""
        return CUES_EVENTS

    def reset(self, camera_id: str) -> None:
        """Forget a camera's background model, tracks and fire history."""
        self._cams.pop(camera_id, None)
        if self.plugins is not None:
            self.plugins.reset(camera_id)
        self._extras.pop(camera_id, None)

    def close(self) -> None:
        """Drop all per-camera state."""
        self._cams.clear()
        if self.plugins is not None:
            self.plugins.close()
        self._extras.clear()

    def score_batch(self, frames: Sequence[Frame], windows: Sequence[Window]) -> list[Scores]:
        """Score each frame in order (per camera state advances frame by frame)."""
        if len(frames) != len(windows):
            raise ValueError(f"score_batch got {len(frames)} frames but {len(windows)} windows")
        return [self.score(f) for f in frames]

    # -- per frame -------------------------------------------------------------------------

    def _state(self, frame: Frame) -> CameraState:
        st = self._cams.get(frame.camera_id)
        size = (frame.width, frame.height)
        if st is not None and st.size != size:
            log.info(
                "camera %s: resolution changed %sx%s -> %sx%s, cue state reset",
                frame.camera_id,
                st.size[0],
                st.size[1],
                size[0],
                size[1],
            )
            st = None
        if st is None:
            scale = min(1.0, self.config.max_side_px / max(size))
            bg = cv2.createBackgroundSubtractorMOG2(
                history=500, varThreshold=20, detectShadows=True
            )
            st = CameraState(size=size, scale=scale, bg=bg)
            self._cams[frame.camera_id] = st
        return st

    @staticmethod
    def _view_reset(st: CameraState, pts_s: float) -> None:
        """The view moved away (pan, zoom): old tracks, fire sites and where a figure lay are
        in the old view's coordinates and no longer hold."""
        st.tracks = []
        st.fire_sites = []
        st.fire_fixtures = None
        st.fire_since_pts_s = None
        if st.fallen is not None and st.fallen.ended_pts_s is None:
            st.fallen.ended_pts_s = pts_s

    def _rate(self, st: CameraState, dt: float, view: Stabilised) -> float:
        """The background model's learning rate for this sample."""
        if st.frames == 0 or view.reset:
            return 1.0
        rate = min(1.0, max(dt, 0.05) / self.config.background_history_s)
        return max(rate, 0.2) if view.relearn else rate  # the view moved, the light stepped

    def _sample(self, st: CameraState, frame: Frame) -> _Sample:
        """The per-frame features: stabilised image, motion, foreground and its blobs."""
        img = frame.image
        if st.scale < 1.0:
            img = cv2.resize(img, None, fx=st.scale, fy=st.scale, interpolation=cv2.INTER_AREA)
        gray = cv2.GaussianBlur(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), (5, 5), 0)
        dt = frame.pts_s - st.prev_pts_s if st.prev_pts_s is not None else 0.0
        h, w = gray.shape
        # the view's own motion and exposure: stabilised into the reference view's coordinates
        view = stabilise(st.view, img, gray, frame.pts_s, dt)
        if view.reset:
            self._view_reset(st, frame.pts_s)
            self._extras.pop(frame.camera_id, None)
        motion = np.zeros_like(view.gray, dtype=bool)
        if st.prev_gray is not None and not view.reset:
            motion = cv2.absdiff(view.gray, st.prev_gray) > _MOTION_DIFF
        fg = st.bg.apply(view.img, learningRate=self._rate(st, dt, view))
        fg = (fg > 200).astype(np.uint8)
        global_change = st.frames > 0 and float(fg.mean()) > _GLOBAL_CHANGE
        blobs: list[Blob] = []
        if global_change:
            # lighting switched: relearn quickly, and read no objects from this frame
            st.global_changes += 1
            st.bg.apply(view.img, learningRate=0.5)
        elif not (view.reset or view.settling):
            blobs = find_blobs(fg, w, h, self.config.min_blob_area, view.inner, motion)
        return _Sample(view, motion, fg, blobs, global_change)

    def score(self, frame: Frame) -> Scores:
        """Advance the camera's state by one sampled frame and score it."""
        st = self._state(frame)
        sm = self._sample(st, frame)
        view, gray, img, fg = sm.view, sm.view.gray, sm.view.img, sm.fg
        h, w = gray.shape
        tracked = sm.blobs
        if self.plugins is not None:  # a configured person detector's boxes replace the blobs
            tracked = self.plugins.person_blobs(frame.camera_id, frame.image, st.scale, sm.blobs)
        update_tracks(st, tracked, frame.pts_s)
        st.hold_fall = view.hold or sm.global_change

        cues = {"motion_energy": round(float(sm.motion.mean()), 4)}
        cues["foreground_ratio"] = round(float(fg.mean()), 4)
        cues["blob_count"] = float(len(sm.blobs))
        cues.update(view.cues())
        regions: dict[str, Box] = {}
        light = sm.global_change or view.gain_step
        fall = fall_score(st, gray, sm.motion, frame.pts_s, light, cues, regions, w, h)
        fire = fire_score(st, view.colour, fg, frame.pts_s, cues, regions, w, h)
        ex = self._extras.setdefault(frame.camera_id, CueExtras(st.size))
        smoke, people = smoke_and_people(ex, st, img, fg, gray, frame.pts_s, cues, regions)
        events = {"fall": fall, "fire": fire, "smoke": smoke, "intrusion": 1.0 if people else 0.0}
        events = {k: round(v, 4) for k, v in events.items()}
        if self.plugins is not None:
            cues["person_count"] = float(len(tracked))
            self.plugins.vote(
                frame.camera_id, frame.image, st.scale, sm.blobs, events, cues, regions
            )

        st.prev_gray = gray
        st.prev_pts_s = frame.pts_s
        st.frames += 1
        return Scores(
            camera_id=frame.camera_id,
            seq=frame.seq,
            pts_s=frame.pts_s,
            ts_s=frame.ts_s,
            events=events,
            cues=cues,
            regions=regions,
            scorer=self.name,
            tracks=people,
        )
