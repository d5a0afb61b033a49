"""Motion gate: skip the visual encoder for frames that barely differ from the last encoded one."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

from engines.settings import ClipMotionGateConfig


@dataclass(frozen=True, slots=True)
class GateDecision:
    """Whether a frame may reuse the camera's last embedding, and why."""

    static: bool
    changed_frac: float  # fraction of thumbnail pixels that changed; 1.0 when not comparable
    thumb: np.ndarray


class MotionGate:
    """Per camera: a small grey thumbnail of the last encoded frame, compared with each new one.

    The reference is the last *encoded* frame (not the previous frame), so slow drift adds up
    and eventually re-encodes; ``max_skip_s`` forces an encode at least that often.
    """

    def __init__(self, config: ClipMotionGateConfig) -> None:
        self.config = config
        self._ref: dict[str, tuple[np.ndarray, float]] = {}
        self._lock = threading.Lock()

    def thumbnail(self, image: np.ndarray) -> np.ndarray:
        """Grey uint8 thumbnail whose longest side is ``side_px``."""
        h, w = image.shape[:2]
        s = self.config.side_px / max(h, w)
        size = (max(1, round(w * s)), max(1, round(h * s)))
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        return cv2.resize(grey, size, interpolation=cv2.INTER_AREA)

    def decide(self, camera_id: str, image: np.ndarray, pts_s: float) -> GateDecision:
        """Compare a frame with the camera's last encoded one."""
        thumb = self.thumbnail(image)
        with self._lock:
            ref = self._ref.get(camera_id)
        if ref is None or ref[0].shape != thumb.shape:
            return GateDecision(False, 1.0, thumb)
        cfg = self.config
        changed = float(np.count_nonzero(cv2.absdiff(thumb, ref[0]) > cfg.pixel_delta))
        frac = changed / thumb.size
        static = cfg.enabled and frac < cfg.threshold and 0.0 <= pts_s - ref[1] < cfg.max_skip_s
        return GateDecision(static, frac, thumb)

    def encoded(self, camera_id: str, thumb: np.ndarray, pts_s: float) -> None:
        """Record that the frame with this thumbnail was encoded."""
        with self._lock:
            self._ref[camera_id] = (thumb, pts_s)

    def reset(self, camera_id: str) -> None:
        """Forget a camera's reference frame."""
        with self._lock:
            self._ref.pop(camera_id, None)
