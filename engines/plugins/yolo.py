"""YOLO-layout detectors: letterbox a BGR image, parse v5 or v8/v11 output, class-wise NMS.

Ultralytics exports take ``1 x 3 x S x S`` RGB in ``[0, 1]``, letterboxed (aspect kept, padded
with grey 114, centred). Their output is ``(1, 4 + nc, N)`` for v8/v11 (cx, cy, w, h in input
pixels, then one score per class) and ``(1, N, 5 + nc)`` for v5 (cx, cy, w, h, objectness,
class scores; confidence = objectness x class score). :func:`parse_yolo` tells them apart by
shape, knowing ``nc``. YOLOX exported with ``--decode_in_inference`` gives the v5 layout on
BGR input in [0, 255] padded at the top left; Ultralytics RT-DETR gives ``(1, 300, 4 + nc)``
with boxes as fractions of a stretched (not letterboxed) input.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engines.errors import ArtifactError


@dataclass(frozen=True, slots=True)
class Letterbox:
    """How an image was fitted into the square input: scales and padding (input pixels)."""

    scale_x: float
    scale_y: float
    pad_x: float
    pad_y: float
    width: int
    height: int
    size: int

    def to_image(self, xyxy: np.ndarray) -> np.ndarray:
        """Input-pixel boxes (N x 4, x0 y0 x1 y1) -> normalised image coordinates, clipped."""
        out = np.empty_like(xyxy, dtype=np.float32)
        out[:, [0, 2]] = (xyxy[:, [0, 2]] - self.pad_x) / self.scale_x / self.width
        out[:, [1, 3]] = (xyxy[:, [1, 3]] - self.pad_y) / self.scale_y / self.height
        return np.clip(out, 0.0, 1.0)


@dataclass(frozen=True, slots=True)
class Detection:
    """One detected box in normalised coordinates of the image it was found in."""

    cls: str
    conf: float
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in [0, 1]


def letterbox(
    img_bgr: np.ndarray, size: int, preprocess: str = "ultralytics"
) -> tuple[np.ndarray, Letterbox]:
    """The ``1 x 3 x size x size`` float32 input of an image and how it maps back.

    ``ultralytics``: aspect kept, centred on grey 114, RGB in [0, 1]. ``yolox``: aspect kept,
    top-left on grey 114, BGR in [0, 255]. ``rtdetr``: stretched to the square, RGB in [0, 1].
    """
    h, w = img_bgr.shape[:2]
    if preprocess == "rtdetr":
        canvas = cv2.resize(img_bgr, (size, size), interpolation=cv2.INTER_LINEAR)
        lb = Letterbox(size / w, size / h, 0.0, 0.0, w, h, size)
    else:
        r = min(size / w, size / h)
        nw, nh = max(1, round(w * r)), max(1, round(h * r))
        x0, y0 = (
            (0, 0)
            if preprocess == "yolox"
            else (round((size - nw) / 2 - 0.1), round((size - nh) / 2 - 0.1))
        )
        canvas = np.full((size, size, 3), 114, np.uint8)
        interp = cv2.INTER_AREA if r < 1 else cv2.INTER_LINEAR
        canvas[y0 : y0 + nh, x0 : x0 + nw] = cv2.resize(img_bgr, (nw, nh), interpolation=interp)
        lb = Letterbox(r, r, float(x0), float(y0), w, h, size)
    chw = (
        canvas.transpose(2, 0, 1) if preprocess == "yolox" else canvas[..., ::-1].transpose(2, 0, 1)
    )
    x = chw[None].astype(np.float32)
    if preprocess != "yolox":
        x /= 255.0
    return np.ascontiguousarray(x), lb


def yolo_layout(shape: tuple[int, ...], nc: int) -> str:
    """``v8`` (1, 4+nc, N), ``v8t`` (1, N, 4+nc), ``v5`` (1, N, 5+nc) or ``v5t``; else raise."""
    if len(shape) != 3 or shape[0] != 1:
        raise ArtifactError(f"YOLO output has shape {shape}, expected (1, C, N) or (1, N, C)")
    _, a, b = shape
    if a == 4 + nc:
        return "v8"
    if b == 5 + nc:
        return "v5"
    if b == 4 + nc:
        return "v8t"
    if a == 5 + nc:
        return "v5t"
    raise ArtifactError(
        f"YOLO output shape {shape} fits neither (1, 4+nc, N) nor (1, N, 5+nc) for the "
        f"{nc} configured classes: list all the model's class names in classes"
    )


def parse_yolo(
    out: np.ndarray,
    classes: list[str],
    conf: float,
    iou: float,
    lb: Letterbox,
    *,
    normalized: bool = False,
) -> list[Detection]:
    """Decode a raw YOLO output into boxes above ``conf``, after class-wise NMS.

    ``normalized``: the boxes are fractions of the input side (RT-DETR), not input pixels.
    """
    nc = len(classes)
    layout = yolo_layout(tuple(out.shape), nc)
    rows = out[0].T if layout in ("v8", "v5t") else out[0]  # N x C
    rows = rows.astype(np.float32, copy=False)
    cls_scores = rows[:, 5:] * rows[:, 4:5] if layout.startswith("v5") else rows[:, 4:]
    best = cls_scores.argmax(axis=1)
    score = cls_scores[np.arange(len(rows)), best]
    keep = score >= conf
    if not keep.any():
        return []
    cxcywh, best, score = rows[keep, :4], best[keep], score[keep]
    if normalized:
        cxcywh = cxcywh * lb.size
    xyxy = np.concatenate([cxcywh[:, :2] - cxcywh[:, 2:] / 2, cxcywh[:, :2] + cxcywh[:, 2:] / 2], 1)
    dets: list[Detection] = []
    for c in np.unique(best):
        idx = np.flatnonzero(best == c)
        rects = [
            [float(x0), float(y0), float(x1 - x0), float(y1 - y0)] for x0, y0, x1, y1 in xyxy[idx]
        ]
        kept = cv2.dnn.NMSBoxes(rects, score[idx].tolist(), conf, iou)
        for k in np.asarray(kept, dtype=np.int64).reshape(-1):
            i = idx[int(k)]
            x0, y0, x1, y1 = (float(v) for v in lb.to_image(xyxy[i : i + 1])[0])
            if x1 > x0 and y1 > y0:
                dets.append(Detection(classes[int(c)], float(score[i]), (x0, y0, x1, y1)))
    dets.sort(key=lambda d: -d.conf)
    return dets
