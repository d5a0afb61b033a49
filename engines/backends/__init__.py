"""Runtime backends behind one interface (``load``, ``warmup``, ``run``, ``close``).

``tensorrt`` (NVIDIA GPUs), ``onnxruntime`` (CPU, or its CUDA provider) and ``torch`` (the
reference). :func:`choose_backend` resolves ``auto`` by what is installed and present.
"""

from __future__ import annotations

import importlib.util
import logging

from engines.backends.base import Backend, GraphSpec, TensorSpec, temporal_spec, visual_spec
from engines.errors import BackendError

log = logging.getLogger(__name__)

__all__ = [
    "Backend",
    "GraphSpec",
    "TensorSpec",
    "choose_backend",
    "temporal_spec",
    "visual_spec",
]


def _onnxruntime_reason() -> str | None:
    for pkg in ("onnxruntime", "onnx"):
        if importlib.util.find_spec(pkg) is None:
            return f"the {pkg} package is not installed"
    return None


def choose_backend(requested: str, device: str = "auto") -> tuple[str, str]:
    """Resolve a configured backend name to one that can run here: (name, why).

    ``auto`` picks tensorrt (tensorrt + pycuda + a CUDA GPU, unless device is cpu), then
    onnxruntime (onnxruntime + onnx installed), then torch. An explicit name is checked and
    refused with the reason when it cannot run.
    """
    from engines.backends.trt import tensorrt_unavailable_reason

    if requested == "torch":
        return "torch", "configured"
    if requested == "tensorrt":
        reason = "device is cpu" if device == "cpu" else tensorrt_unavailable_reason()
        if reason is not None:
            raise BackendError(f"model.clip.backend: tensorrt cannot run here: {reason}")
        return "tensorrt", "configured"
    if requested == "onnxruntime":
        reason = _onnxruntime_reason()
        if reason is not None:
            raise BackendError(f"model.clip.backend: onnxruntime cannot run here: {reason}")
        return "onnxruntime", "configured"
    if requested != "auto":
        raise BackendError(f"model.clip.backend: unknown backend {requested!r}")
    why: list[str] = []
    trt_reason = "device is cpu" if device == "cpu" else tensorrt_unavailable_reason()
    if trt_reason is None:
        return "tensorrt", "auto: tensorrt, pycuda and a CUDA GPU are present"
    why.append(f"not tensorrt: {trt_reason}")
    ort_reason = _onnxruntime_reason()
    if ort_reason is None:
        return "onnxruntime", "auto: " + "; ".join([*why, "onnxruntime is installed"])
    why.append(f"not onnxruntime: {ort_reason}")
    return "torch", "auto: " + "; ".join([*why, "using the torch reference"])
