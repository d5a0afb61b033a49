"""Detector plugins: ONNX person/object detectors and image classifiers for the cue scorer.

Configured under ``model.cues.plugins`` (:mod:`engines.plugins.settings`); run by
:class:`engines.plugins.runner.PluginRunner` on motion-gated crops through the runtime
backends (:mod:`engines.backends.generic`). ``yolo`` parses Ultralytics-layout detector output
(:mod:`engines.plugins.yolo`), ``classifier`` turns logits into label probabilities
(:mod:`engines.plugins.classifier`). See docs/PLUGINS.md. Vigil ships no weights.
"""

from __future__ import annotations

from engines.plugins.settings import (
    COCO_CLASSES,
    ClassifierPluginConfig,
    PluginConfig,
    YoloPluginConfig,
)

__all__ = ["COCO_CLASSES", "ClassifierPluginConfig", "PluginConfig", "YoloPluginConfig"]
