"""Generated test media: H.264 clips whose frames carry their own index as a block pattern."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

BITS = 12  # frame indexes up to 4095


def _block(width: int) -> int:
    return max(8, width // (BITS + 4))


def draw_index(img: np.ndarray, index: int) -> None:
    """Draw ``index`` as a row of black/white blocks (robust to compression) plus text."""
    b = _block(img.shape[1])
    for k in range(BITS):
        on = (index >> (BITS - 1 - k)) & 1
        img[b // 2 : b // 2 + b, b // 2 + k * b : b // 2 + (k + 1) * b] = 255 if on else 0
    cv2.putText(
        img, str(index), (b // 2, 3 * b), cv2.FONT_HERSHEY_SIMPLEX, b / 40, (0, 255, 255), 2
    )


def read_index(img: np.ndarray) -> int:
    """The index :func:`draw_index` drew into ``img``."""
    b = _block(img.shape[1])
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    value = 0
    for k in range(BITS):
        y0, x0 = b // 2 + b // 4, b // 2 + k * b + b // 4
        cell = gray[y0 : y0 + b // 2, x0 : x0 + b // 2]
        value = (value << 1) | int(cell.mean() > 127)
    return value


def frame_image(i: int, width: int, height: int) -> np.ndarray:
    """A moving gradient with the frame index drawn in."""
    x = np.arange(width, dtype=np.uint16)[None, :]
    y = np.arange(height, dtype=np.uint16)[:, None]
    img = np.empty((height, width, 3), np.uint8)
    img[..., 0] = ((x + 4 * i) % 256).astype(np.uint8)
    img[..., 1] = ((y + 2 * i) % 256).astype(np.uint8)
    img[..., 2] = ((x + y) // 4 % 256).astype(np.uint8)
    draw_index(img, i)
    return img


def write_clip(
    path: Path,
    *,
    seconds: float = 4.0,
    fps: int = 25,
    width: int = 320,
    height: int = 240,
    gop: int = 25,
    fmt: str | None = None,
    start_index: int = 0,
) -> Path:
    """Write an H.264 clip (no B-frames, fixed GOP) with each frame's index drawn in."""
    n = round(seconds * fps)
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        stream.options = {
            "g": str(gop),
            "keyint_min": str(gop),
            "sc_threshold": "0",
            "bf": "0",
            "preset": "ultrafast",
        }
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(
                frame_image(start_index + i, width, height), format="bgr24"
            )
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def write_bframe_clip(
    path: Path,
    *,
    fmt: str | None = None,
    width: int = 320,
    height: int = 240,
    fps: int = 25,
    frames: int = 100,
    bframes: int = 3,
    time_base: Fraction | None = None,
) -> Path:
    """An H.264 clip with B-frames (as cameras and phones write them), index drawn in."""
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        if time_base is not None:
            stream.time_base = time_base
        stream.options = {"bf": str(bframes), "preset": "fast", "g": str(2 * fps)}
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(frame_image(i, width, height), format="bgr24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path
