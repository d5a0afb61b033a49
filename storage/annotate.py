"""Annotated keyframes: what scored, where, how much, on which camera and when.

An operator opening an incident should see at once what the detector saw: a box around the
region that scored (a flame covering 2 % of the frame is easy to miss), the event, its score,
the camera and the local time. The clean frame is kept beside it (evidence, models, zoom).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

#: BGR colours per event (others: amber); chosen to stand out on typical scenes.
_COLOURS: dict[str, tuple[int, int, int]] = {
    "fire": (0, 64, 255),
    "smoke": (200, 200, 200),
    "fall": (255, 160, 0),
    "intrusion": (255, 0, 255),
}
_DEFAULT_COLOUR = (0, 200, 255)


@dataclass(frozen=True, slots=True)
class Annotation:
    """What to draw on a keyframe."""

    event_type: str
    score: float
    camera: str
    local_time: str  # already formatted in the site's time zone, with the date
    region: Sequence[float] | None = None  # normalised x0, y0, x1, y1
    zone: str | None = None


def _text(
    img: np.ndarray, text: str, org: tuple[int, int], scale: float, colour: tuple[int, int, int]
) -> None:
    """Text with a dark outline, readable on any background.

    The outline is the same text shifted by a pixel each way (a thicker stroke would also
    widen OpenCV's glyph advance and drift off the letters).
    """
    x, y = org
    for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (1, 1), (-1, 1), (1, -1)):
        cv2.putText(
            img, text, (x + dx, y + dy), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA
        )
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)


def _pixel_box(region: Sequence[float], w: int, h: int) -> tuple[int, int, int, int] | None:
    """The region in pixels, clipped to the image; None when it is empty or malformed."""
    if len(region) != 4 or not all(np.isfinite(v) for v in region):
        return None
    x0, y0, x1, y1 = (min(1.0, max(0.0, float(v))) for v in region)
    px0, py0 = round(x0 * (w - 1)), round(y0 * (h - 1))
    px1, py1 = round(x1 * (w - 1)), round(y1 * (h - 1))
    if px1 <= px0 or py1 <= py0:
        return None
    return px0, py0, px1, py1


def annotate(image: np.ndarray, note: Annotation) -> np.ndarray:
    """A copy of a BGR frame with the event's box, label, score, camera and time drawn on it."""
    out = np.ascontiguousarray(image.copy())
    h, w = out.shape[:2]
    colour = _COLOURS.get(note.event_type, _DEFAULT_COLOUR)
    scale = max(0.4, min(1.2, w / 1280 * 0.9))
    line = max(2, round(w / 400))
    label = f"{note.event_type.upper()} {note.score:.2f}"
    if note.zone:
        label += f"  zone {note.zone}"
    box = _pixel_box(note.region, w, h) if note.region is not None else None
    if box is not None:
        x0, y0, x1, y1 = box
        cv2.rectangle(out, (x0, y0), (x1, y1), (0, 0, 0), line + 2)
        cv2.rectangle(out, (x0, y0), (x1, y1), colour, line)
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        pad = max(3, round(th * 0.35))
        lh = th + base + 2 * pad
        ly = y0 - lh if y0 - lh >= 0 else min(h - lh, y1)  # above the box, else below it
        lx = min(max(0, x0 - line // 2), max(0, w - tw - 2 * pad))
        cv2.rectangle(out, (lx, ly), (lx + tw + 2 * pad, ly + lh), colour, cv2.FILLED)
        ink = (0, 0, 0) if sum(colour) > 300 else (255, 255, 255)
        cv2.putText(
            out,
            label,
            (lx + pad, ly + pad + th),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            ink,
            1,
            cv2.LINE_AA,
        )
    # banner: camera and local time at the top left; the label there too when no box
    banner = f"{note.camera}  {note.local_time}"
    _, bh = cv2.getTextSize(banner, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0]
    bb = cv2.getTextSize(banner, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[1]
    rows = [banner] if box is not None else [banner, label + "  (no region reported)"]
    pad = max(4, round(bh * 0.4))
    height = len(rows) * (bh + bb + pad) + pad
    strip = out[:height, :].astype(np.float32)
    out[:height, :] = (strip * 0.45).astype(np.uint8)  # darken behind the text
    y = pad + bh
    for i, row in enumerate(rows):
        _text(out, row, (pad, y), scale, (255, 255, 255) if i == 0 else colour)
        y += bh + bb + pad
    return out
