"""Detector plugins: YOLO output parsing, letterbox mapping, NMS, motion gating, and the evidence
reaching the cue scorer's fall and fire scores, on tiny ONNX models built here."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from plugin_models import save_fake_yolo, save_red_classifier
from pydantic import ValidationError

from engines.backends.generic import onnx_graph_spec, resolve_backend
from engines.cues import CueScorer
from engines.errors import ArtifactError, BackendError
from engines.plugins.classifier import classifier_input, to_probabilities
from engines.plugins.runner import PluginRunner
from engines.plugins.settings import ClassifierPluginConfig, YoloPluginConfig
from engines.plugins.yolo import letterbox, parse_yolo, yolo_layout
from engines.settings import CuesConfig, ModelConfig
from streamer.types import Frame, Window

W, H = 320, 240
FPS = 2.0
CLASSES = ["person", "car", "dog"]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("plugin-models")
    return {
        "v8": save_fake_yolo(d / "v8.onnx", layout="v8"),
        "v5": save_fake_yolo(d / "v5.onnx", layout="v5"),
        "yolox": save_fake_yolo(d / "yolox.onnx", layout="v5", pixel_max=255.0),
        "rtdetr": save_fake_yolo(d / "rtdetr.onnx", layout="v8t", normalized=True),
        "logits": save_red_classifier(d / "logits.onnx"),
        "probs": save_red_classifier(d / "probs.onnx", probabilities=True),
    }


def yolo(path: Path, **over: Any) -> dict[str, Any]:
    return {"kind": "yolo", "path": str(path), "classes": CLASSES, "input_size": 64, **over}


def classifier(path: Path, **over: Any) -> dict[str, Any]:
    cfg = {"kind": "classifier", "path": str(path), "labels": ["fire", "no_fire"]}
    return {**cfg, "event": "fire", "input_size": 32, **over}


def scorer(*plugins: dict[str, Any]) -> CueScorer:
    return CueScorer(CuesConfig.model_validate({"plugins": list(plugins)}))


# -- scenes ------------------------------------------------------------------------------------


def background() -> np.ndarray:
    rng = np.random.default_rng(0)
    low = cv2.resize(rng.normal(0, 12, (16, 20, 3)).astype(np.float32), (W, H))
    return np.clip(110 + low, 0, 255).astype(np.float32)


def figure(img: np.ndarray, x: float, height: float, angle: float, colour: int) -> None:
    """A solid figure with its feet at (x, 200), rotated by ``angle`` about them."""
    w = height * 0.3
    pts = np.array([[-w / 2, 0], [w / 2, 0], [w / 2, -height], [-w / 2, -height]])
    c, s = math.cos(angle), math.sin(angle)
    poly = (pts @ np.array([[c, s], [-s, c]]) + [x, 200]).astype(np.int32)
    cv2.fillPoly(img, [poly], (colour, colour, colour))


def falling(colour: int) -> Callable[[np.ndarray, float, np.random.Generator], None]:
    def draw(img: np.ndarray, t: float, rng: np.random.Generator) -> None:
        angle = 0.0 if t < 6 else min(1.0, (t - 6) / 0.5) * (math.pi / 2 - 0.05)
        figure(img, 60 + 15 * min(t, 6), 110, angle, colour)

    return draw


def flame(img: np.ndarray, t: float, rng: np.random.Generator) -> None:
    if t < 5:
        return
    x, base, size = 220, 220, 30 + 3 * (t - 5)
    pts = [(x - size / 2, base)]
    for k in range(6):
        u = (k + 0.5) / 6
        dy = size * 1.3 * math.sin(math.pi * u) * rng.uniform(0.5, 1.2)
        pts.append((x - size / 2 + size * u, base - dy))
    pts.append((x + size / 2, base))
    cv2.fillPoly(img, [np.array(pts, np.int32)], (0, 60, 240))
    inner = [(x + (px - x) * 0.5, base - (base - py) * 0.55) for px, py in pts]
    cv2.fillPoly(img, [np.array(inner, np.int32)], (190, 250, 255))


def run(
    sc: CueScorer, draw: Callable[[np.ndarray, float, np.random.Generator], None], seconds: float
) -> list[tuple[dict[str, float], dict[str, float]]]:
    """(events, cues) per sample of a drawn scene."""
    bg, rng, out = background(), np.random.default_rng(1), []
    for i in range(int(seconds * FPS)):
        t = i / FPS
        img = bg.copy()
        draw(img, t, rng)
        img = np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)
        frame = Frame("cam", i, t, 1000 + t, img)
        (s,) = sc.score_batch([frame], [Window("cam", (frame,), 8.0)])
        out.append((dict(s.events), dict(s.cues)))
    return out


def peak(samples: list[tuple[dict[str, float], dict[str, float]]], event: str) -> float:
    return max(ev[event] for ev, _ in samples)


# -- parsing -----------------------------------------------------------------------------------


def test_letterbox_pads_centred_and_maps_boxes_back() -> None:
    img = np.zeros((240, 320, 3), np.uint8)
    img[:, :, 2] = 255  # red in BGR
    x, lb = letterbox(img, 64)
    assert x.shape == (1, 3, 64, 64) and x.dtype == np.float32
    assert (lb.scale_x, lb.scale_y, lb.pad_x, lb.pad_y) == (0.2, 0.2, 0.0, 8.0)
    assert x[0, 0, 32, 32] == 1.0 and x[0, 2, 32, 32] == 0.0  # RGB order
    assert x[0, 0, 2, 32] == pytest.approx(114 / 255)  # grey padding above
    back = lb.to_image(np.array([[20.0, 8.0 + 12.0, 40.0, 56.0]]))
    assert back[0].tolist() == pytest.approx([20 / 64, 12 / 48, 40 / 64, 1.0])


def test_yolox_and_rtdetr_inputs() -> None:
    img = np.zeros((240, 320, 3), np.uint8)
    img[:, :, 2] = 255  # red in BGR
    x, lb = letterbox(img, 64, "yolox")
    assert (lb.pad_x, lb.pad_y) == (0.0, 0.0)  # top-left, BGR, 0..255
    assert x[0, 2, 10, 32] == 255.0 and x[0, 0, 10, 32] == 0.0 and x[0, 0, 60, 32] == 114.0
    x, lb = letterbox(img, 64, "rtdetr")
    assert (lb.scale_x, lb.scale_y) == (0.2, 64 / 240) and x[0, 0].min() == 1.0  # stretched
    assert lb.to_image(np.array([[0.0, 0.0, 32.0, 64.0]]))[0].tolist() == [0, 0, 0.5, 1]


def _rows(nc: int, v5: bool) -> np.ndarray:
    """N x C rows: a class-0 box, its shifted twin, a class-1 box on top, a weak one."""
    width = (5 if v5 else 4) + nc
    rows = np.zeros((30, width), np.float32)
    for r, (cx, cls, conf) in enumerate([(30, 0, 0.9), (31, 0, 0.6), (30, 1, 0.7), (10, 0, 0.2)]):
        rows[r, :4] = [cx, 30, 20, 40]
        if v5:
            rows[r, 4], rows[r, 5 + cls] = conf, 1.0
        else:
            rows[r, 4 + cls] = conf
    return rows


@pytest.mark.parametrize("layout", ["v8", "v5", "v8t"])
def test_parse_yolo_layouts_threshold_and_classwise_nms(layout: str) -> None:
    rows = _rows(3, v5=layout == "v5")
    out = rows.T[None] if layout == "v8" else rows[None]
    assert yolo_layout(out.shape, 3) == layout
    lb = letterbox(np.zeros((64, 64, 3), np.uint8), 64)[1]
    dets = parse_yolo(out, CLASSES, 0.35, 0.45, lb)
    assert [(d.cls, round(d.conf, 2)) for d in dets] == [("person", 0.9), ("car", 0.7)]
    assert dets[0].box == pytest.approx((20 / 64, 10 / 64, 40 / 64, 50 / 64))


def test_parse_yolo_names_a_shape_that_fits_no_layout() -> None:
    with pytest.raises(ArtifactError, match=r"\(1, 84, 30\).*3 configured classes"):
        yolo_layout((1, 84, 30), 3)


def test_classifier_output_softmax_only_for_logits() -> None:
    p = to_probabilities(np.array([[2.0, 0.0]]), ["fire", "no_fire"])
    assert p["fire"] == pytest.approx(1 / (1 + math.exp(-2)))
    assert to_probabilities(np.array([[0.3, 0.7]]), ["a", "b"]) == pytest.approx(
        {"a": 0.3, "b": 0.7}
    )
    with pytest.raises(ArtifactError, match="3 labels"):
        to_probabilities(np.array([[0.3, 0.7]]), ["a", "b", "c"])


@pytest.mark.parametrize("layout", ["v8", "v5", "yolox", "rtdetr"])
def test_onnx_detector_boxes_a_bright_rectangle_in_the_frame(
    models: dict[str, Path], layout: str
) -> None:
    pre = {"preprocess": layout} if layout in ("yolox", "rtdetr") else {}
    runner = PluginRunner([YoloPluginConfig.model_validate(yolo(models[layout], **pre))])
    img = np.full((240, 320, 3), 110, np.uint8)
    img[60:200, 100:180] = 240
    dets = runner.detect(img, (0, 0, 320, 240))
    assert [d.cls for d in dets] == ["person", "car"]  # the shifted twin was suppressed
    assert dets[0].box == pytest.approx((100 / 320, 60 / 240, 180 / 320, 200 / 240), abs=0.02)
    # on a crop, boxes still come back in whole-frame coordinates
    crop = runner.detect(img, (80, 40, 240, 220))
    assert crop[0].box == pytest.approx(dets[0].box, abs=0.02)
    assert runner.runs == {f"yolo:{layout}.onnx": 2}


def test_classifier_input_is_rgb_minus_mean_over_std() -> None:
    img = np.zeros((40, 60, 3), np.uint8)
    img[:, :, 2] = 255  # red in BGR
    x = classifier_input(img, 16, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.25))
    assert x.shape == (1, 3, 16, 16)
    assert (x[0, 0].min(), x[0, 1].max(), x[0, 2].max()) == (1.0, -1.0, -2.0)


def test_plugin_backend_choice_on_a_cpu() -> None:
    assert resolve_backend("auto", "cpu") == "onnxruntime"
    assert resolve_backend("onnxruntime", "auto") == "onnxruntime"
    with pytest.raises(BackendError, match="tensorrt cannot run here: device is cpu"):
        resolve_backend("tensorrt", "cpu")


# -- the cue scorer with plugins ---------------------------------------------------------------


def test_detector_runs_only_on_motion_and_on_a_crop(
    models: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    sc = scorer(yolo(models["v8"]))
    assert sc.plugins is not None
    still = run(sc, lambda img, t, rng: None, 8)
    assert sc.plugins.runs == {"yolo:v8.onnx": 0}
    assert all(cues["person_count"] == 0 for _, cues in still)

    rects: list[tuple[int, int, int, int]] = []
    detect = sc.plugins.detect
    monkeypatch.setattr(sc.plugins, "detect", lambda img, r: rects.append(r) or detect(img, r))
    sc.reset("cam")
    samples = run(sc, falling(240), 5)
    gated = sum(1 for _, cues in samples if cues["blob_count"] > 0)
    assert gated > 0 and sc.plugins.runs["yolo:v8.onnx"] == gated == len(rects)
    x0, y0, x1, y1 = rects[-1]
    assert (x1 - x0) * (y1 - y0) < 0.5 * W * H  # a crop around the figure, not the frame
    assert x0 <= 111 and x1 >= 144 and y0 <= 90 and y1 >= 200  # holds the figure (t = 4.5 s)
    assert max(cues["person_count"] for _, cues in samples) == 1


def test_every_n_reuses_the_last_detection(models: dict[str, Path]) -> None:
    sc = scorer(yolo(models["v5"], every_n=3))
    samples = run(sc, falling(240), 5)
    gated = sum(1 for _, cues in samples if cues["blob_count"] > 0)
    assert sc.plugins is not None and sc.plugins.runs["yolo:v5.onnx"] == math.ceil(gated / 3)


def test_a_fall_needs_a_person_when_a_detector_is_configured(models: dict[str, Path]) -> None:
    dark, bright = falling(30), falling(240)
    assert peak(run(CueScorer(), dark, 14), "fall") >= 0.9  # the blobs alone see a fall
    assert peak(run(scorer(yolo(models["v8"])), dark, 14), "fall") == 0.0  # no person there
    with_person = run(scorer(yolo(models["v8"])), bright, 14)
    assert peak(with_person, "fall") >= 0.9
    assert max(ev["fall"] for ev, _ in with_person[: int(6 * FPS)]) == 0.0


def test_fire_needs_the_classifier_vote(models: dict[str, Path]) -> None:
    plain = run(CueScorer(), flame, 14)
    assert peak(plain, "fire") >= 0.8
    for model in ("logits", "probs"):
        agreed = run(scorer(classifier(models[model])), flame, 14)
        assert peak(agreed, "fire") == peak(plain, "fire")
        assert max(c.get("fire_classifier_p", 0) for _, c in agreed) > 0.5
    # the same model with its labels swapped disagrees (its vote for fire stays near or under
    # 0.5 on the flame's pale core, so it must reach 0.7): fire stays at the cap
    swapped = classifier(models["logits"], labels=["no_fire", "fire"], cap=0.4, threshold=0.7)
    vetoed = run(scorer(swapped), flame, 14)
    assert 0.0 < peak(vetoed, "fire") <= 0.4
    assert [ev["fire"] for ev, _ in plain[:10]] == [ev["fire"] for ev, _ in vetoed[:10]]


def test_classifier_does_not_run_while_the_event_scores_low(models: dict[str, Path]) -> None:
    sc = scorer(classifier(models["logits"], crop="frame"))
    samples = run(sc, falling(240), 8)
    assert peak(samples, "fire") == 0.0
    assert sc.plugins is not None and sc.plugins.runs == {"classifier:logits.onnx": 0}


# -- configuration -----------------------------------------------------------------------------


def test_missing_model_file_names_the_path_and_the_field(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "yolo11n.onnx"
    with pytest.raises(ValidationError) as err:
        ModelConfig.model_validate({"cues": {"plugins": [yolo(missing)]}})
    text = str(err.value)
    assert str(missing) in text and "cues.plugins.0.yolo.path" in text
    with pytest.raises(ValidationError, match="is a folder"):
        CuesConfig.model_validate({"plugins": [classifier(tmp_path)]})


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"person_class": "human"}, "person_class 'human' is not one of classes"),
        ({"classes": ["person", "person"]}, "names a class twice"),
        ({"kind": "segmenter"}, "does not match any of the expected tags"),
        ({"conf": 1.5}, "less than 1"),
    ],
)
def test_bad_detector_entries_are_refused(
    models: dict[str, Path], entry: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        CuesConfig.model_validate({"plugins": [yolo(models["v8"], **entry)]})


def test_bad_classifier_and_plugin_lists_are_refused(models: dict[str, Path]) -> None:
    with pytest.raises(ValidationError, match="positive label 'fire' is not one of labels"):
        CuesConfig.model_validate({"plugins": [classifier(models["logits"], labels=["a", "b"])]})
    with pytest.raises(ValidationError, match="at most one yolo plugin"):
        CuesConfig.model_validate({"plugins": [yolo(models["v8"]), yolo(models["v5"])]})
    ok = CuesConfig.model_validate({"plugins": [classifier(models["logits"], positive="no_fire")]})
    assert isinstance(ok.plugins[0], ClassifierPluginConfig)
    assert ok.plugins[0].positive_label == "no_fire"


def test_models_that_do_not_fit_the_config_fail_when_loaded(models: dict[str, Path]) -> None:
    with pytest.raises(ArtifactError, match=r"shape \[1, 3, 64, 64\].*input_size"):
        onnx_graph_spec(models["v8"], "yolo", (640, 640))
    wrong = YoloPluginConfig.model_validate(yolo(models["v8"], classes=["person"]))
    runner = PluginRunner([wrong])
    with pytest.raises(ArtifactError, match="1 configured classes"):
        runner.detect(np.zeros((64, 64, 3), np.uint8), (0, 0, 64, 64))
