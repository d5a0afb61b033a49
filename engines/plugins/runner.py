"""``PluginRunner``: runs the configured plugin models on motion-gated crops for the cue scorer.

* A ``yolo`` detector runs only on samples with foreground blobs, on the padded crop around
  them (in full-resolution pixels), and its ``person_class`` boxes replace the blobs as the
  fall cue's tracking input: a fall then needs a person.
* A ``classifier`` votes on its event: it runs only while that event scores above the
  classifier's ``cap`` and its crop exists (the event's region, the foreground, or the frame);
  unless its positive label reaches ``threshold``, the event's score is capped at ``cap``.

Each model runs on every ``every_n``-th gated sample of a camera and its last result is reused
in between. Models are loaded when the runner is built (bad files fail then) and again after
:meth:`PluginRunner.close` when used.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from engines.backends.base import Backend
from engines.backends.generic import onnx_graph_spec, open_onnx
from engines.cues.state import Blob
from engines.plugins.classifier import classifier_input, to_probabilities
from engines.plugins.settings import ClassifierPluginConfig, PluginConfig, YoloPluginConfig
from engines.plugins.yolo import Detection, letterbox, parse_yolo
from engines.types import Box

log = logging.getLogger(__name__)


@dataclass
class _Memo:
    """Per camera and plugin: gated samples seen and the last result."""

    gated: int = 0
    persons: list[Blob] | None = None
    vote: float | None = None


@dataclass
class _Loaded:
    """A plugin's config, its loaded graph (None after close) and how often it ran."""

    cfg: PluginConfig
    graph: Backend | None = None
    runs: int = 0
    memo: dict[str, _Memo] = field(default_factory=dict)

    def run(self, x: np.ndarray) -> np.ndarray:
        """Run the graph on one input (re-opening it after a close)."""
        if self.graph is None:
            self.graph = _open(self.cfg)
        self.runs += 1
        return self.graph.run({self.graph.spec.inputs[0].name: x})

    def due(self, camera_id: str) -> tuple[_Memo, bool]:
        """This camera's memo, and whether this gated sample runs the model."""
        memo = self.memo.setdefault(camera_id, _Memo())
        memo.gated += 1
        return memo, (memo.gated - 1) % self.cfg.every_n == 0


def _open(cfg: PluginConfig) -> Backend:
    spec = onnx_graph_spec(cfg.path, cfg.kind, (cfg.input_size, cfg.input_size))
    return open_onnx(
        cfg.path,
        spec,
        backend=cfg.backend,
        device=cfg.device,
        threads=cfg.threads,
        cache_dir=cfg.cache_dir,
    )


def crop_box(
    boxes: Sequence[tuple[float, float, float, float]], margin: float, w: int, h: int
) -> tuple[int, int, int, int]:
    """The union of pixel boxes (x0, y0, x1, y1), padded by ``margin`` of its size, in frame."""
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[2] for b in boxes)
    y1 = max(b[3] for b in boxes)
    px, py = margin * (x1 - x0) + 4, margin * (y1 - y0) + 4
    return (
        max(0, int(x0 - px)),
        max(0, int(y0 - py)),
        min(w, int(np.ceil(x1 + px))),
        min(h, int(np.ceil(y1 + py))),
    )


def _blob_px(blobs: Sequence[Blob], scale: float) -> list[tuple[float, float, float, float]]:
    """Downscaled blobs as full-resolution pixel boxes."""
    return [(b.x / scale, b.y / scale, (b.x + b.w) / scale, (b.y + b.h) / scale) for b in blobs]


class PluginRunner:
    """The configured plugin models of one cue scorer, with per-camera gating state."""

    def __init__(self, configs: Sequence[PluginConfig]) -> None:
        self.plugins = [_Loaded(c, _open(c)) for c in configs]
        self.detector = next((p for p in self.plugins if isinstance(p.cfg, YoloPluginConfig)), None)

    @property
    def runs(self) -> dict[str, int]:
        """How many times each plugin model ran, by ``<kind>:<file name>``."""
        return {f"{p.cfg.kind}:{p.cfg.path.name}": p.runs for p in self.plugins}

    def reset(self, camera_id: str) -> None:
        """Forget a camera's gating counters and cached results."""
        for p in self.plugins:
            p.memo.pop(camera_id, None)

    def close(self) -> None:
        """Release the graphs and all per-camera state (a later call loads them again)."""
        for p in self.plugins:
            if p.graph is not None:
                p.graph.close()
            p.graph = None
            p.memo.clear()

    def detect(self, image: np.ndarray, rect: tuple[int, int, int, int]) -> list[Detection]:
        """Run the detector on ``image[rect]``; boxes in normalised coordinates of ``image``."""
        if self.detector is None:
            return []
        cfg = self.detector.cfg
        assert isinstance(cfg, YoloPluginConfig)
        x0, y0, x1, y1 = rect
        x, lb = letterbox(image[y0:y1, x0:x1], cfg.input_size, cfg.preprocess)
        out = self.detector.run(x)
        normalized = cfg.preprocess == "rtdetr"
        dets = parse_yolo(out, cfg.classes, cfg.conf, cfg.iou, lb, normalized=normalized)
        h, w = image.shape[:2]
        cw, ch = x1 - x0, y1 - y0
        return [
            Detection(
                d.cls,
                d.conf,
                (
                    (x0 + d.box[0] * cw) / w,
                    (y0 + d.box[1] * ch) / h,
                    (x0 + d.box[2] * cw) / w,
                    (y0 + d.box[3] * ch) / h,
                ),
            )
            for d in dets
        ]

    def person_blobs(
        self, camera_id: str, image: np.ndarray, scale: float, blobs: list[Blob]
    ) -> list[Blob]:
        """The detector's person boxes (downscaled pixels) in the crop around ``blobs``.

        No foreground blobs: no run and no persons. Without a detector: ``blobs`` unchanged.
        """
        if self.detector is None:
            return blobs
        if not blobs:
            memo = self.detector.memo.get(camera_id)
            if memo is not None:
                memo.persons = None  # the next gated sample detects afresh
            return []
        cfg = self.detector.cfg
        assert isinstance(cfg, YoloPluginConfig)
        memo, due = self.detector.due(camera_id)
        if due or memo.persons is None:
            h, w = image.shape[:2]
            rect = crop_box(_blob_px(blobs, scale), cfg.crop_margin, w, h)
            dets = [d for d in self.detect(image, rect) if d.cls == cfg.person_class]
            sw, sh = w * scale, h * scale
            memo.persons = [
                Blob(
                    d.box[0] * sw,
                    d.box[1] * sh,
                    (d.box[2] - d.box[0]) * sw,
                    (d.box[3] - d.box[1]) * sh,
                    (d.box[2] - d.box[0]) * sw * (d.box[3] - d.box[1]) * sh,
                )
                for d in dets
            ]
        return list(memo.persons)

    def vote(
        self,
        camera_id: str,
        image: np.ndarray,
        scale: float,
        blobs: list[Blob],
        events: dict[str, float],
        cues: dict[str, float],
        regions: dict[str, Box],
    ) -> None:
        """Apply each classifier's vote to its event's score (caps it unless it agrees)."""
        h, w = image.shape[:2]
        for p in self.plugins:
            cfg = p.cfg
            if not isinstance(cfg, ClassifierPluginConfig) or events.get(cfg.event, 0) <= cfg.cap:
                continue
            rect = self._classifier_crop(cfg, blobs, regions, scale, w, h)
            prob = None
            if rect is not None:
                memo, due = p.due(camera_id)
                if due or memo.vote is None:
                    x0, y0, x1, y1 = rect
                    x = classifier_input(image[y0:y1, x0:x1], cfg.input_size, cfg.mean, cfg.std)
                    memo.vote = to_probabilities(p.run(x), cfg.labels)[cfg.positive_label]
                prob = memo.vote
                cues[f"{cfg.event}_classifier_p"] = round(prob, 3)
            if prob is None or prob < cfg.threshold:
                events[cfg.event] = min(events[cfg.event], cfg.cap)

    @staticmethod
    def _classifier_crop(
        cfg: ClassifierPluginConfig,
        blobs: list[Blob],
        regions: dict[str, Box],
        scale: float,
        w: int,
        h: int,
    ) -> tuple[int, int, int, int] | None:
        """The pixel rectangle the classifier looks at, or None when there is none."""
        if cfg.crop == "frame":
            return (0, 0, w, h)
        if cfg.crop == "foreground":
            boxes = _blob_px(blobs, scale)
        else:
            region = regions.get(cfg.event)
            if region is None:
                return None
            boxes = [(region[0] * w, region[1] * h, region[2] * w, region[3] * h)]
        if not boxes:
            return None
        rect = crop_box(boxes, cfg.crop_margin, w, h)
        return rect if rect[2] > rect[0] and rect[3] > rect[1] else None
