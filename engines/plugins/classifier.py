"""Image classifiers: a BGR crop -> ``1 x 3 x S x S`` input -> probabilities over named labels.

The output may be logits or probabilities: a softmax is applied unless the row already is a
probability distribution (non-negative, summing to 1).
"""

from __future__ import annotations

import cv2
import numpy as np

from engines.errors import ArtifactError


def classifier_input(
    img_bgr: np.ndarray,
    size: int,
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0),
    std: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> np.ndarray:
    """The crop resized to ``size x size``, RGB in [0, 1] minus ``mean`` over ``std``, NCHW."""
    interp = cv2.INTER_AREA if max(img_bgr.shape[:2]) > size else cv2.INTER_LINEAR
    rgb = cv2.resize(img_bgr, (size, size), interpolation=interp)[..., ::-1]
    x = rgb.transpose(2, 0, 1)[None].astype(np.float32) / 255.0
    m = np.asarray(mean, np.float32).reshape(1, 3, 1, 1)
    sd = np.asarray(std, np.float32).reshape(1, 3, 1, 1)
    x = (x - m) / sd
    return np.ascontiguousarray(x, dtype=np.float32)


def to_probabilities(out: np.ndarray, labels: list[str]) -> dict[str, float]:
    """One output row as {label: probability}; softmax unless it already sums to 1."""
    row = np.asarray(out, np.float64).reshape(out.shape[0], -1)[0]
    if row.size != len(labels):
        raise ArtifactError(
            f"classifier output has {row.size} values but {len(labels)} labels are configured "
            f"({', '.join(labels)})"
        )
    if not (row.min() >= 0.0 and abs(row.sum() - 1.0) < 1e-3):
        e = np.exp(row - row.max())
        row = e / e.sum()
    return {name: float(p) for name, p in zip(labels, row, strict=True)}
