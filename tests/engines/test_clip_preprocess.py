"""Preprocessing parity with the transformers image processors, letterbox geometry."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from engines.clip.preprocess import PreprocessSpec, preprocess_bgr
from engines.export import check_images


def _scene(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    img = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    cv2.circle(img, (w // 3, h // 2), min(h, w) // 5, (0, 0, 255), -1)
    return img


def _hf(processor, bgr: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    return processor(images=[bgr[..., ::-1].copy()], return_tensors="np")["pixel_values"]


@pytest.mark.parametrize("hw", [(480, 640), (720, 1280), (300, 200), (224, 224)])
@pytest.mark.parametrize("family", ["clip", "siglip"])
def test_matches_transformers_processor(family: str, hw: tuple[int, int]) -> None:
    from transformers import CLIPImageProcessorPil, SiglipImageProcessorPil

    proc = CLIPImageProcessorPil() if family == "clip" else SiglipImageProcessorPil()
    spec = PreprocessSpec.from_processor_dict(proc.to_dict(), family, 224)
    img = _scene(*hw)
    ours = preprocess_bgr([img], spec)
    ref = _hf(proc, img)
    assert ours.shape == ref.shape == (1, 3, 224, 224)
    assert ours.dtype == np.float32
    diff = np.abs(ours - ref)
    if hw == (224, 224):
        # No resampling involved: colour order, rescale and normalisation must be exact.
        assert diff.max() < 1e-5
    else:
        # OpenCV area resampling vs PIL's antialiased bicubic: about one grey level on average.
        assert diff.mean() < 0.03
        assert np.corrcoef(ours.ravel(), ref.ravel())[0, 1] > 0.995


def test_user_folder_processor_is_the_reference(tiny_clip_dir: Path) -> None:
    """The tiny model's own saved processor config drives preprocessing."""
    from transformers import AutoImageProcessor

    from engines.clip.model import load_clip

    model = load_clip(str(tiny_clip_dir), local_files_only=True, with_text=False)
    proc = AutoImageProcessor.from_pretrained(tiny_clip_dir)
    imgs = check_images(4, size_hw=(64, 96))
    ours = preprocess_bgr(imgs, model.preprocess)
    ref = np.concatenate([_hf(proc, im) for im in imgs])
    assert ours.shape == ref.shape == (4, 3, 32, 32)
    assert np.abs(ours - ref).mean() < 0.05
    # What matters downstream: the embeddings agree.
    a, b = model.encode_pixels(ours), model.encode_pixels(ref.astype(np.float32))
    assert ((a * b).sum(-1) > 0.99).all()


def test_batch_of_mixed_sizes_is_processed_per_image() -> None:
    spec = PreprocessSpec.from_processor_dict({}, "clip", 224)
    a, b = _scene(480, 640, 1), _scene(200, 300, 2)
    both = preprocess_bgr([a, b], spec)
    assert both.shape == (2, 3, 224, 224)
    np.testing.assert_allclose(both[0], preprocess_bgr([a], spec)[0])
    np.testing.assert_allclose(both[1], preprocess_bgr([b], spec)[0])


def test_letterbox_keeps_the_whole_frame_and_pads_with_the_mean() -> None:
    spec = PreprocessSpec.from_processor_dict({}, "clip", 224)
    img = np.zeros((100, 400, 3), np.uint8)
    img[:, :20] = 255  # a white stripe at the left edge: a centre crop cuts it off
    lb = preprocess_bgr([img], spec, "letterbox")[0]
    crop = preprocess_bgr([img], spec, "processor")[0]
    assert lb.shape == crop.shape == (3, 224, 224)
    white = (1.0 - np.asarray(spec.mean)) / np.asarray(spec.std)
    assert np.allclose(lb[:, 112, 2], white, atol=0.05)  # stripe is kept
    assert crop[:, 112, 2].max() < 0  # ... and cropped away by the processor geometry
    # pad rows (above the 56-px-tall content) normalise to ~0
    assert np.abs(lb[:, :50, :]).max() < 0.02


def test_legacy_int_sizes_and_bad_values() -> None:
    spec = PreprocessSpec.from_processor_dict({"size": 224, "crop_size": 224}, "clip", 224)
    assert spec.shortest_edge == 224 and spec.crop_hw == (224, 224)
    sig = PreprocessSpec.from_processor_dict({"size": 256}, "siglip", 256)
    assert sig.resize_hw == (256, 256) and sig.crop_hw is None
    with pytest.raises(ValueError, match="image_mean"):
        PreprocessSpec.from_processor_dict({"image_std": [0.5, 0.0, 0.5]}, "clip", 224)
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        preprocess_bgr([np.zeros((10, 10), np.uint8)], spec)
