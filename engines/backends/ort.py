"""ONNX Runtime backend: CPU with configurable threads, CUDA execution provider when present."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engines.backends.base import Backend, GraphSpec, RuntimeFactory, temporal_spec, visual_spec
from engines.errors import ArtifactError, BackendError
from engines.registry import Plugin

if TYPE_CHECKING:
    from engines.clip.model import LoadedClip
    from engines.clip.temporal import TemporalEncoder
    from engines.settings import ClipConfig

log = logging.getLogger(__name__)


def ort_providers() -> list[str]:
    """Execution providers this onnxruntime build offers (empty if it is not installed)."""
    try:
        import onnxruntime as ort
    except ImportError:
        return []
    return list(ort.get_available_providers())


class OrtBackend(Backend):
    """Runs an ONNX graph with ONNX Runtime.

    ``device`` ``auto`` uses the CUDA execution provider when this onnxruntime build has it,
    else the CPU; ``threads`` sets intra-op threads on CPU (0 = ONNX Runtime's default).
    ``precision`` is a label for logs (an int8 graph is a different file).
    """

    name = "onnxruntime"

    def __init__(
        self,
        spec: GraphSpec,
        onnx_path: str | Path,
        *,
        device: str = "auto",
        threads: int = 0,
        precision: str = "fp32",
    ) -> None:
        super().__init__(spec)
        self.onnx_path = Path(onnx_path)
        self.device = device
        self.threads = threads
        self.precision = precision
        self._session: Any = None
        self._providers: list[str] = []

    def describe(self) -> str:
        """Runtime, providers, precision, threads."""
        import onnxruntime as ort

        return (
            f"onnxruntime {ort.__version__} {'/'.join(self._providers) or '?'} "
            f"{self.precision} threads={self.threads or 'default'}"
        )

    def load(self) -> None:
        """Open an inference session and check the graph's inputs against the spec."""
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise BackendError("onnxruntime backend: the onnxruntime package is missing") from exc
        if not self.onnx_path.is_file():
            raise ArtifactError(f"{self.spec.kind} graph {self.onnx_path} does not exist")
        available = ort.get_available_providers()
        if self.device == "cuda" and "CUDAExecutionProvider" not in available:
            raise BackendError(
                "onnxruntime backend: device cuda requested but this onnxruntime build has no "
                f"CUDAExecutionProvider (available: {', '.join(available)})"
            )
        providers = ["CPUExecutionProvider"]
        if self.device in ("auto", "cuda") and "CUDAExecutionProvider" in available:
            providers.insert(0, "CUDAExecutionProvider")
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if self.threads:
            so.intra_op_num_threads = self.threads
            so.inter_op_num_threads = 1
        so.log_severity_level = 3
        # Idle worker threads must not spin: the encoder shares the CPU with stream decoding.
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.add_session_config_entry("session.inter_op.allow_spinning", "0")
        try:
            sess = ort.InferenceSession(str(self.onnx_path), so, providers=providers)
        except Exception as exc:  # ORT raises its own Fail/InvalidGraph/... types
            raise ArtifactError(
                f"onnxruntime cannot load {self.spec.kind} graph {self.onnx_path}: {exc}"
            ) from exc
        self._check_io(sess)
        self._session = sess
        self._providers = [p.removesuffix("ExecutionProvider") for p in sess.get_providers()]
        self.loaded = True
        log.info("loaded %s graph %s on %s", self.spec.kind, self.onnx_path, self.describe())

    def _check_io(self, sess: Any) -> None:
        got = {i.name: i.shape for i in sess.get_inputs()}
        outs = [o.name for o in sess.get_outputs()]
        for t in self.spec.inputs:
            if t.name not in got:
                raise ArtifactError(
                    f"{self.onnx_path} is not a {self.spec.kind} graph: it has inputs "
                    f"{sorted(got)}, expected {[i.name for i in self.spec.inputs]}"
                )
            tail = got[t.name][1:]
            fixed = tuple(d if isinstance(d, int) else -1 for d in tail)
            want = t.shape
            if len(fixed) != len(want) or any(
                f not in (-1, w) for f, w in zip(fixed, want, strict=True)
            ):
                raise ArtifactError(
                    f"{self.onnx_path}: input {t.name!r} has shape N x {tail}, but the "
                    f"configured model needs N x {list(want)} (exported from another model?)"
                )
        if self.spec.output not in outs:
            raise ArtifactError(
                f"{self.onnx_path}: no output {self.spec.output!r} (outputs: {outs})"
            )

    def _run(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        try:
            out = self._session.run([self.spec.output], dict(inputs))[0]
        except Exception as exc:
            raise BackendError(f"onnxruntime failed on the {self.spec.kind} graph: {exc}") from exc
        return np.asarray(out)

    def close(self) -> None:
        """Drop the session."""
        self._session = None
        self.loaded = False


def onnxruntime_unavailable_reason() -> str | None:
    """Why the ONNX Runtime backend cannot run here, or None if onnxruntime and onnx are there."""
    for pkg in ("onnxruntime", "onnx"):
        if importlib.util.find_spec(pkg) is None:
            return f"the {pkg} package is not installed"
    return None


def _clip_visual(cfg: ClipConfig, model: LoadedClip) -> tuple[Backend, str]:
    from engines.clip.artifacts import prepare_visual

    spec = visual_spec(model.preprocess.output_hw)
    on_cuda = cfg.device != "cpu" and "CUDAExecutionProvider" in ort_providers()
    want_int8 = cfg.precision == "int8" and not on_cuda
    if cfg.precision == "int8" and on_cuda:
        log.info("int8 dynamic quantization is a CPU optimisation; using fp32 on CUDA")
    graphs = prepare_visual(cfg, model, int8=want_int8)
    be = OrtBackend(
        spec, graphs.chosen, device=cfg.device, threads=cfg.threads, precision=graphs.precision
    )
    return be, graphs.note


def _clip_temporal(cfg: ClipConfig, model: LoadedClip, enc: TemporalEncoder) -> Backend:
    from engines.clip.artifacts import prepare_temporal

    spec = temporal_spec(enc.window_frames, enc.embed_dim)
    path = prepare_temporal(cfg, model, enc)
    return OrtBackend(spec, path, device=cfg.device, threads=cfg.threads)


#: The ``onnxruntime`` runtime backend (``auto`` tries it after tensorrt).
PLUGIN: Plugin[RuntimeFactory] = Plugin(
    "onnxruntime",
    RuntimeFactory(_clip_visual, _clip_temporal, auto_note="onnxruntime is installed"),
    description="ONNX Runtime on the CPU (fp32 or int8) or its CUDA provider.",
    check=onnxruntime_unavailable_reason,
    auto_rank=1,
)
