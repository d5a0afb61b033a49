"""ONNX export (dynamic batch), checking, metadata, int8 dynamic quantization, parity maths."""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from engines.errors import ArtifactError

log = logging.getLogger(__name__)

#: ONNX opset of exported graphs (TensorRT 8.6+/10 and ONNX Runtime 1.16+ read it).
EXPORT_OPSET = 17
#: Prefix of Vigil's keys in an ONNX model's metadata_props.
META_PREFIX = "vigil."


@contextlib.contextmanager
def _atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it into place only on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def export_onnx(
    module: nn.Module,
    example: Sequence[torch.Tensor],
    path: str | Path,
    *,
    input_names: Sequence[str],
    output_name: str,
    metadata: Mapping[str, str],
) -> Path:
    """Export ``module`` to one ONNX file with a dynamic first (batch) axis on every input and
    the output, store ``metadata`` (keys prefixed ``vigil.``) and run the ONNX checker."""
    import onnx

    path = Path(path)
    dynamic = {name: {0: "batch"} for name in [*input_names, output_name]}
    module = module.eval()
    with _atomic_path(path) as tmp, warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # tracer and deprecation chatter
        torch.onnx.export(
            module,
            tuple(example),
            str(tmp),
            input_names=list(input_names),
            output_names=[output_name],
            dynamic_axes=dynamic,
            opset_version=EXPORT_OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
        model = onnx.load(str(tmp))
        for k, v in metadata.items():
            entry = model.metadata_props.add()
            entry.key, entry.value = META_PREFIX + k, str(v)
        onnx.save(model, str(tmp))
        check_onnx(tmp)
    log.info("exported %s", path)
    return path


def check_onnx(path: str | Path) -> None:
    """Run the ONNX checker (by path, so large models work); raise ArtifactError on failure."""
    import onnx

    try:
        onnx.checker.check_model(str(path), full_check=False)
    except (onnx.checker.ValidationError, OSError, ValueError) as exc:
        raise ArtifactError(f"{path} fails the ONNX checker: {exc}") from exc


def read_metadata(path: str | Path) -> dict[str, str]:
    """Vigil's metadata of an exported graph (keys without the ``vigil.`` prefix)."""
    import onnx

    p = Path(path)
    if not p.is_file():
        raise ArtifactError(f"{p} does not exist")
    try:
        model = onnx.load(str(p), load_external_data=False)
    except Exception as exc:  # protobuf DecodeError and friends
        raise ArtifactError(f"{p} is not a readable ONNX file: {exc}") from exc
    return {
        e.key.removeprefix(META_PREFIX): e.value
        for e in model.metadata_props
        if e.key.startswith(META_PREFIX)
    }


class _DropFrom(logging.Filter):
    """Drops records logged from source files whose path contains all of ``parts``."""

    def __init__(self, parts: tuple[str, ...]) -> None:
        super().__init__()
        self.parts = parts

    def filter(self, record: logging.LogRecord) -> bool:
        return not all(p in record.pathname for p in self.parts)


def quantize_int8(src: str | Path, dst: str | Path) -> Path:
    """Dynamic int8 quantization of the weights of an exported (not optimizer-fused) graph."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    dst = Path(dst)
    # quantize_dynamic logs one line per tensor through the root logger: drop just those.
    quiet = _DropFrom(("onnxruntime", "quantization"))
    root = logging.getLogger()
    with _atomic_path(dst) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        root.addFilter(quiet)
        try:
            quantize_dynamic(str(src), str(tmp), weight_type=QuantType.QInt8)
        finally:
            root.removeFilter(quiet)
        import onnx

        model = onnx.load(str(tmp))
        src_meta = read_metadata(src)
        del model.metadata_props[:]
        for k, v in {**src_meta, "precision": "int8"}.items():
            entry = model.metadata_props.add()
            entry.key, entry.value = META_PREFIX + k, v
        onnx.save(model, str(tmp))
        check_onnx(tmp)
    return dst


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two ``N x D`` arrays."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    num = (a * b).sum(-1)
    den = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    cos: np.ndarray = num / np.maximum(den, 1e-12)
    return cos


def check_images(
    n: int = 16, *, size_hw: tuple[int, int] = (360, 480), seed: int = 0
) -> list[np.ndarray]:
    """Deterministic synthetic BGR scenes (gradients, shapes, text, noise) for numeric checks."""
    rng = np.random.default_rng(seed)
    h, w = size_hw
    out = []
    for i in range(n):
        coarse = rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)
        img = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
        for _ in range(int(rng.integers(2, 7))):
            color = tuple(int(c) for c in rng.integers(0, 256, 3))
            x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
            if rng.random() < 0.5:
                cv2.rectangle(
                    img, (x0, y0), (x0 + int(rng.integers(10, w // 2)), y0 + 40), color, -1
                )
            else:
                cv2.circle(img, (x0, y0), int(rng.integers(8, h // 3)), color, -1)
        cv2.putText(
            img, f"cam {i}", (10, h - 20), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 255, 255), 2
        )
        noise = rng.normal(0.0, 6.0, img.shape)
        out.append(np.clip(img.astype(np.float64) + noise, 0, 255).astype(np.uint8))
    return out
