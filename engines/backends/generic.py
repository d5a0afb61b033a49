"""Run any single-input ONNX graph on a runtime backend (the seam the detector plugins use).

The clip profile's :class:`~engines.backends.base.RuntimeFactory` builds its own visual and
temporal graphs; a plugin model (a YOLO detector, an image classifier) is an ONNX file someone
exported. :func:`onnx_graph_spec` reads its input and output names (the first of each) into a
:class:`~engines.backends.base.GraphSpec` with the configured input size, and
:func:`open_onnx` loads it on the existing :class:`~engines.backends.ort.OrtBackend` or
:class:`~engines.backends.trt.TensorRTBackend`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from engines.backends.base import Backend, GraphSpec, TensorSpec
from engines.errors import ArtifactError, BackendError

log = logging.getLogger(__name__)

GenericBackendName = Literal["auto", "onnxruntime", "tensorrt"]


def onnx_graph_spec(path: str | Path, kind: str, input_hw: tuple[int, int]) -> GraphSpec:
    """The spec of an image graph ``N x 3 x H x W -> output``: its first input and first output.

    ``kind`` names the graph in errors and logs. A graph whose first input is not 4-D, or has a
    fixed spatial size other than ``input_hw``, is refused with both sizes in the message.
    """
    import onnx

    p = Path(path)
    if not p.is_file():
        raise ArtifactError(f"{kind} graph {p} does not exist")
    try:
        model = onnx.load(str(p), load_external_data=False)
    except Exception as exc:  # DecodeError and friends
        raise ArtifactError(f"{p} is not a readable ONNX file: {exc}") from exc
    inits = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits]
    if not inputs or not model.graph.output:
        raise ArtifactError(f"{p}: the graph has no input or no output")
    first = inputs[0]
    dims = [
        d.dim_value if d.HasField("dim_value") else -1 for d in first.type.tensor_type.shape.dim
    ]
    want = (3, *input_hw)
    if len(dims) != 4 or any(d not in (-1, w) for d, w in zip(dims[1:], want, strict=True)):
        raise ArtifactError(
            f"{p}: input {first.name!r} has shape {dims}, but the {kind} plugin feeds "
            f"N x {list(want)} (set input_size to the size the model was exported with)"
        )
    return GraphSpec(kind, (TensorSpec(first.name, want),), model.graph.output[0].name)


def resolve_backend(requested: GenericBackendName, device: str) -> str:
    """``auto``: tensorrt when it can run here (and device is not cpu), else onnxruntime."""
    from engines.backends.ort import onnxruntime_unavailable_reason
    from engines.backends.trt import tensorrt_unavailable_reason

    trt_reason = "device is cpu" if device == "cpu" else tensorrt_unavailable_reason()
    if requested == "tensorrt" and trt_reason is not None:
        raise BackendError(f"backend tensorrt cannot run here: {trt_reason}")
    if requested == "tensorrt" or (requested == "auto" and trt_reason is None):
        return "tensorrt"
    ort_reason = onnxruntime_unavailable_reason()
    if ort_reason is not None:
        raise BackendError(f"backend onnxruntime cannot run here: {ort_reason}")
    return "onnxruntime"


def open_onnx(
    path: str | Path,
    spec: GraphSpec,
    *,
    backend: GenericBackendName = "auto",
    device: str = "auto",
    threads: int = 0,
    cache_dir: str | Path = "data/engines/plugins",
    fp16: bool = True,
) -> Backend:
    """Load ``path`` for ``spec`` on the chosen backend (TensorRT: batch 1, plan cached)."""
    name = resolve_backend(backend, device)
    be: Backend
    if name == "tensorrt":
        from engines.backends.trt import TensorRTBackend

        be = TensorRTBackend(
            spec,
            path,
            cache_dir=Path(cache_dir) / "trt",
            min_batch=1,
            opt_batch=1,
            max_batch=1,
            fp16=fp16,
        )
    else:
        from engines.backends.ort import OrtBackend

        be = OrtBackend(spec, path, device=device, threads=threads)
    be.load()
    log.info("%s plugin graph %s on %s", spec.kind, path, be.describe())
    return be
