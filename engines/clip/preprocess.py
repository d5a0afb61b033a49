"""Image preprocessing for CLIP/SigLIP vision towers on uint8 BGR batches (numpy + OpenCV).

The geometry and normalisation come from the model's own image-processor config
(``preprocessor_config.json``): shortest-edge resize and centre crop for CLIP, a fixed-size
resize for SigLIP, the processor's mean/std and rescale factor, RGB channel order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np

#: PIL resample codes used in processor configs, mapped to OpenCV interpolation for upscaling.
_UPSCALE_INTERP = {0: cv2.INTER_NEAREST, 1: cv2.INTER_LANCZOS4, 2: cv2.INTER_LINEAR}

ResizeMode = Literal["processor", "letterbox"]


@dataclass(frozen=True, slots=True)
class PreprocessSpec:
    """What the model's image processor does, as plain numbers.

    Exactly one of ``shortest_edge`` (CLIP: scale so the short side has this length, keeping the
    aspect) and ``resize_hw`` (SigLIP: scale to this height and width) is set when
    ``do_resize``; ``crop_hw`` is the centre crop (None: no crop).
    """

    do_resize: bool
    shortest_edge: int | None
    resize_hw: tuple[int, int] | None
    crop_hw: tuple[int, int] | None
    resample: int
    rescale_factor: float
    do_normalize: bool
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    @property
    def output_hw(self) -> tuple[int, int]:
        """Height and width of the tensor the vision tower receives."""
        if self.crop_hw is not None:
            return self.crop_hw
        if self.resize_hw is not None:
            return self.resize_hw
        if self.shortest_edge is not None:
            return (self.shortest_edge, self.shortest_edge)
        raise ValueError("preprocessing neither resizes nor crops to a fixed size")

    @property
    def fill_bgr(self) -> tuple[int, int, int]:
        """The processor's mean colour as uint8 BGR (normalises to zero; letterbox padding)."""
        r, g, b = (round(m * 255.0) for m in self.mean)
        return (b, g, r)

    @classmethod
    def from_processor_dict(
        cls, d: Mapping[str, Any], family: str, image_size: int
    ) -> PreprocessSpec:
        """Build from an image-processor config dict (missing keys take the family defaults).

        ``family`` is ``clip`` (shortest-edge resize + centre crop, OpenAI mean/std) or
        ``siglip`` (square resize, mean/std 0.5).
        """
        defaults = _family_defaults(family, image_size)

        def get(key: str, default: Any) -> Any:
            return _get(d, key, default)

        shortest, resize_hw = _resize_geometry(get("size", defaults["size"]), family)
        crop_hw: tuple[int, int] | None = None
        if get("do_center_crop", defaults["do_center_crop"]):
            crop_hw = _crop_geometry(get("crop_size", defaults["crop_size"]), image_size)
        mean = tuple(float(x) for x in get("image_mean", defaults["image_mean"]))
        std = tuple(float(x) for x in get("image_std", defaults["image_std"]))
        if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
            raise ValueError(f"image_mean/image_std must have 3 entries (std > 0): {mean} {std}")
        return cls(
            do_resize=bool(get("do_resize", True)),
            shortest_edge=shortest,
            resize_hw=resize_hw,
            crop_hw=crop_hw,
            resample=int(get("resample", defaults["resample"])),
            rescale_factor=float(get("rescale_factor", 1.0 / 255.0))
            if get("do_rescale", True)
            else 1.0,
            do_normalize=bool(get("do_normalize", True)),
            mean=(mean[0], mean[1], mean[2]),
            std=(std[0], std[1], std[2]),
        )


def _get(d: Mapping[str, Any], key: str, default: Any) -> Any:
    """``d[key]``, or ``default`` where the key is missing or null."""
    v = d.get(key)
    return default if v is None else v


def _family_defaults(family: str, image_size: int) -> dict[str, Any]:
    """The image-processor settings of a family, for keys its config leaves out."""
    if family == "siglip":
        return {
            "size": {"height": image_size, "width": image_size},
            "do_center_crop": False,
            "crop_size": None,
            "resample": 3,
            "image_mean": [0.5, 0.5, 0.5],
            "image_std": [0.5, 0.5, 0.5],
        }
    return {
        "size": {"shortest_edge": image_size},
        "do_center_crop": True,
        "crop_size": {"height": image_size, "width": image_size},
        "resample": 3,
        "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711],
    }


def _resize_geometry(size: Any, family: str) -> tuple[int | None, tuple[int, int] | None]:
    """(shortest edge, fixed height and width) of a processor ``size``; one of them is None."""
    if isinstance(size, int):
        # Legacy configs: an int is the shortest edge for CLIP, a square for SigLIP.
        if family == "siglip":
            return None, (size, size)
        return size, None
    if "shortest_edge" in size:
        return int(size["shortest_edge"]), None
    if "height" in size and "width" in size:
        return None, (int(size["height"]), int(size["width"]))
    raise ValueError(f"unsupported image processor size {size!r}")


def _crop_geometry(crop: Any, image_size: int) -> tuple[int, int]:
    """The centre crop's height and width (the model's image size where none is given)."""
    crop = crop or {"height": image_size, "width": image_size}
    if isinstance(crop, int):
        return (crop, crop)
    return (int(crop["height"]), int(crop["width"]))


def _interp(src_hw: tuple[int, int], dst_hw: tuple[int, int], resample: int) -> int:
    """OpenCV interpolation: area averaging when shrinking (antialiased like PIL), else the
    processor's filter."""
    if dst_hw[0] < src_hw[0] or dst_hw[1] < src_hw[1]:
        return cv2.INTER_AREA
    return _UPSCALE_INTERP.get(resample, cv2.INTER_CUBIC)


def _shortest_edge_size(h: int, w: int, short: int) -> tuple[int, int]:
    # Same rule as transformers' get_resize_output_image_size(default_to_square=False).
    if h <= w:
        return short, int(short * w / h)
    return int(short * h / w), short


def _geometry(image: np.ndarray, spec: PreprocessSpec, mode: ResizeMode) -> np.ndarray:
    """Resize/crop (or letterbox) one BGR uint8 image to ``spec.output_hw``."""
    out_h, out_w = spec.output_hw
    h, w = image.shape[:2]
    if mode == "letterbox":
        scale = min(out_h / h, out_w / w)
        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
        resized = cv2.resize(
            image, (nw, nh), interpolation=_interp((h, w), (nh, nw), spec.resample)
        )
        canvas = np.empty((out_h, out_w, 3), np.uint8)
        canvas[:] = spec.fill_bgr
        top, left = (out_h - nh) // 2, (out_w - nw) // 2
        canvas[top : top + nh, left : left + nw] = resized
        return canvas
    img = image
    if spec.do_resize:
        if spec.shortest_edge is not None:
            nh, nw = _shortest_edge_size(h, w, spec.shortest_edge)
        else:
            assert spec.resize_hw is not None
            nh, nw = spec.resize_hw
        if (nh, nw) != (h, w):
            img = cv2.resize(img, (nw, nh), interpolation=_interp((h, w), (nh, nw), spec.resample))
    if spec.crop_hw is not None:
        ch, cw = spec.crop_hw
        ih, iw = img.shape[:2]
        if ih < ch or iw < cw:
            # Pad like transformers' center_crop does for images smaller than the crop.
            ph, pw = max(ch, ih), max(cw, iw)
            padded = np.zeros((ph, pw, 3), np.uint8)
            t, lft = (ph - ih) // 2, (pw - iw) // 2
            padded[t : t + ih, lft : lft + iw] = img
            img, ih, iw = padded, ph, pw
        top, left = (ih - ch) // 2, (iw - cw) // 2
        img = img[top : top + ch, left : left + cw]
    if img.shape[:2] != (out_h, out_w):
        raise ValueError(f"preprocessing produced {img.shape[:2]}, expected {(out_h, out_w)}")
    return img


def preprocess_bgr(
    images: Sequence[np.ndarray], spec: PreprocessSpec, mode: ResizeMode = "processor"
) -> np.ndarray:
    """Turn uint8 BGR images (any sizes) into a float32 ``N x 3 x H x W`` pixel batch.

    Geometry runs per image in OpenCV; colour order, rescale and normalisation run once on the
    stacked uint8 batch.
    """
    if not images:
        h, w = spec.output_hw
        return np.zeros((0, 3, h, w), np.float32)
    for i, im in enumerate(images):
        if im.dtype != np.uint8 or im.ndim != 3 or im.shape[2] != 3:
            raise ValueError(f"image {i} must be HxWx3 uint8 BGR, got {im.shape} {im.dtype}")
    batch = np.stack([_geometry(im, spec, mode) for im in images])  # N,H,W,3 BGR uint8
    rgb = batch[..., ::-1]
    mean = np.asarray(spec.mean, np.float32) if spec.do_normalize else np.zeros(3, np.float32)
    std = np.asarray(spec.std, np.float32) if spec.do_normalize else np.ones(3, np.float32)
    scale = np.float32(spec.rescale_factor) / std
    shift = -mean / std
    out = rgb.astype(np.float32) * scale + shift
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))
