"""The camera of the hard generated scenes: a moving viewport, exposure, sensor noise, encoding.

A scene is drawn on a world canvas (larger than the frame for the moving-camera scenarios); the
viewport crops and scales it per frame (pan, zoom, shake), the exposure gain and the sensor's
brightness-dependent noise are applied, and the frame is encoded as H.264 like ``vigil.scene``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from vigil.scene_draw import keyed


def view_matrix(
    cx: float, cy: float, zoom: float, w: int, h: int, angle: float = 0.0
) -> np.ndarray:
    """The affine map from world to frame for a ``w`` x ``h`` view centred on world
    ``(cx, cy)``, magnified ``zoom`` times and rolled ``angle`` radians."""
    c, s = math.cos(angle) * zoom, math.sin(angle) * zoom
    return np.array([[c, -s, w / 2 - c * cx + s * cy], [s, c, h / 2 - s * cx - c * cy]], np.float64)


def crop_view(world: np.ndarray, m: np.ndarray, w: int, h: int) -> np.ndarray:
    """The frame the viewport ``m`` sees of ``world`` (bilinear)."""
    return cv2.warpAffine(world, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def pan_centre(t: float, duration: float, world_w: int, w: int, h: int) -> tuple[float, float]:
    """A patrol pan: sweep right, pause, sweep back, with a slight tilt, over ``duration``."""
    lo, hi = w / 2 + 4, world_w - w / 2 - 4
    d = duration
    keys = [(0.0, lo), (0.1 * d, lo), (0.45 * d, hi), (0.55 * d, hi), (0.9 * d, lo), (d, lo)]
    tilt = [(0.0, 0.0), (0.3 * d, 0.06 * h), (0.6 * d, -0.03 * h), (d, 0.0)]
    return keyed(keys, t), h / 2 + 0.04 * h + keyed(tilt, t)


def zoom_factor(t: float, duration: float) -> float:
    """Zoom in (x1.9), hold, out, a quick partial zoom in and back, over ``duration``."""
    d = duration
    keys = [
        (0.0, 1.0),
        (0.08 * d, 1.0),
        (0.33 * d, 1.9),
        (0.45 * d, 1.9),
        (0.65 * d, 1.0),
        (0.72 * d, 1.0),
        (0.8 * d, 1.45),
        (0.92 * d, 1.0),
    ]
    return keyed(keys, t)


def shake_offsets(rng: np.random.Generator, n: int, fps: int) -> np.ndarray:
    """Per-frame ``(dx, dy, roll)`` of a camera on a pole in the wind: jitter of a few px at
    5-15 Hz (sums of sines of random frequency and phase), in gusts that come and go."""
    t = np.arange(n, dtype=np.float64) / fps
    out = np.zeros((n, 3))
    for axis, amp in ((0, 3.0), (1, 2.2), (2, 0.004)):
        for _ in range(3):
            f = float(rng.uniform(5.0, 15.0))
            out[:, axis] += (
                amp / 2 * np.sin(2 * math.pi * f * t + float(rng.uniform(0, 2 * math.pi)))
            )
        out[:, axis] += rng.normal(0, amp / 3, n)
    gust = 0.45 + 0.55 * np.clip(1.5 * np.sin(2 * math.pi * t / 6.0), 0, 1)
    return out * gust[:, None]


def exposure_gain(t: float, duration: float) -> float:
    """Auto-exposure: steps and ramps of the whole-frame gain by 20-40 % over 0.2-1 s."""
    d = duration
    keys: list[tuple[float, float]] = [(0.0, 1.0)]
    plan = [(0.1, 0.2, 1.35), (0.24, 0.5, 1.0), (0.36, 0.3, 0.7), (0.48, 1.0, 0.95)]
    plan += [(0.6, 0.2, 1.3), (0.7, 0.6, 0.8), (0.82, 0.25, 1.1), (0.92, 0.5, 1.0)]
    for at, ramp_s, gain in plan:
        start = at * d
        keys += [(start, keys[-1][1]), (start + min(ramp_s, 0.05 * d), gain)]
    return keyed(keys, t)


class ClipWriter:
    """Write float32 BGR frames to an H.264 mp4 (libx264, yuv420p) with sensor noise added."""

    def __init__(self, out: Path, fps: int, width: int, height: int, seed: int) -> None:
        self._rng = np.random.default_rng(seed + 101)
        self._bank = self._rng.normal(0, 1, (10, height, width)).astype(np.float32)
        self._colour = self._rng.normal(0, 1, (6, height, width, 3)).astype(np.float32)
        self._container: Any = av.open(str(out), mode="w")
        stream = self._container.add_stream("libx264", rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "24", "preset": "veryfast", "g": str(fps * 2), "bf": "0"}
        self._stream = stream

    def write(self, img: np.ndarray, noise: float = 2.5) -> None:
        """Add noise that grows with brightness (shot noise) plus a little chroma noise, clip
        and encode one frame."""
        luma = self._bank[int(self._rng.integers(len(self._bank)))]
        shot = (noise + 0.18 * np.sqrt(np.clip(img.mean(axis=2), 0, 255))) * luma
        chroma = self._colour[int(self._rng.integers(len(self._colour)))] * (noise * 0.4)
        frame = np.clip(img + shot[..., None] + chroma, 0, 255).astype(np.uint8)
        for packet in self._stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")):
            self._container.mux(packet)

    def close(self) -> None:
        """Flush the encoder and close the file."""
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
        finally:
            self._container.close()
