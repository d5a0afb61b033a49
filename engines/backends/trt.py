"""TensorRT backend: ONNX -> engine plan (explicit batch, FP16, min/opt/max batch profile),
cached on disk under ONNX sha256 + TensorRT version + GPU name, executed with pycuda.

Execution uses page-locked host buffers sized for the profile's largest batch, async
host-to-device copies, ``execute_async_v3`` and async device-to-host copies on one CUDA stream.
Batches larger than the profile's maximum are split.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engines.backends.base import Backend, GraphSpec, RuntimeFactory, temporal_spec, visual_spec
from engines.errors import ArtifactError, BackendError
from engines.registry import Plugin
from engines.settings import ClipTensorRTConfig

if TYPE_CHECKING:
    from engines.clip.model import LoadedClip
    from engines.clip.temporal import TemporalEncoder
    from engines.settings import ClipConfig

log = logging.getLogger(__name__)


def tensorrt_unavailable_reason() -> str | None:
    """Why the TensorRT backend cannot run here, or None if tensorrt, pycuda and a GPU are there."""
    if importlib.util.find_spec("tensorrt") is None:
        return "the tensorrt package is not installed"
    if importlib.util.find_spec("pycuda") is None:
        return "the pycuda package is not installed"
    try:
        import pycuda.driver as cuda

        cuda.init()
        if cuda.Device.count() < 1:
            return "no CUDA GPU is visible"
    except Exception as exc:  # driver missing, no device, ...
        return f"CUDA is not usable ({exc})"
    return None


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def plan_key(
    onnx_sha256: str, trt_version: str, gpu_name: str, profile: tuple[int, int, int], fp16: bool
) -> str:
    """File-name-safe cache key of an engine plan."""
    gpu = re.sub(r"[^A-Za-z0-9]+", "-", gpu_name).strip("-") or "gpu"
    mn, opt, mx = profile
    return (
        f"{onnx_sha256[:24]}-trt{trt_version}-{gpu}-b{mn}_{opt}_{mx}-{'fp16' if fp16 else 'fp32'}"
    )


@dataclass
class PlanCache:
    """Serialized engine plans on disk, one ``<key>.plan`` (+ ``.json`` note) per key.

    A plan that cannot be read or deserialized is deleted and rebuilt, never trusted.
    """

    folder: Path

    def path(self, key: str) -> Path:
        """Where the plan of ``key`` lives."""
        return self.folder / f"{key}.plan"

    def load_or_build(
        self,
        key: str,
        build: Callable[[], bytes],
        deserialize: Callable[[bytes], Any],
        note: Mapping[str, Any] | None = None,
    ) -> tuple[Any, bool]:
        """Return (engine, built_now). ``deserialize`` returns None or raises for a bad plan."""
        p = self.path(key)
        if p.is_file():
            try:
                engine = deserialize(p.read_bytes())
            except Exception as exc:
                log.warning("engine cache %s is unusable (%s); rebuilding", p, exc)
                engine = None
            else:
                if engine is None:
                    log.warning("engine cache %s did not deserialize; rebuilding", p)
            if engine is not None:
                return engine, False
            p.unlink(missing_ok=True)
        plan = build()
        engine = deserialize(plan)
        if engine is None:
            raise BackendError(f"TensorRT could not deserialize the plan it just built ({key})")
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(plan)
        os.replace(tmp, p)
        if note is not None:
            p.with_suffix(".json").write_text(json.dumps(dict(note), indent=2))
        return engine, True


class TensorRTBackend(Backend):
    """Runs an ONNX graph as a TensorRT engine on the first CUDA GPU."""

    name = "tensorrt"

    def __init__(
        self,
        spec: GraphSpec,
        onnx_path: str | Path,
        *,
        cache_dir: str | Path,
        min_batch: int = 1,
        opt_batch: int = 8,
        max_batch: int = 32,
        fp16: bool = True,
        workspace_mb: int = 1024,
    ) -> None:
        super().__init__(spec)
        self.onnx_path = Path(onnx_path)
        self.cache = PlanCache(Path(cache_dir))
        self.profile = (min_batch, opt_batch, max_batch)
        self.want_fp16 = fp16
        self.fp16 = False
        self.workspace_mb = workspace_mb
        self.plan_path: Path | None = None
        self.built_now = False
        self._trt: Any = None
        self._cuda: Any = None
        self._ctx: Any = None
        self._engine: Any = None
        self._runtime: Any = None
        self._context: Any = None
        self._stream: Any = None
        self._host: dict[str, Any] = {}
        self._dev: dict[str, Any] = {}
        self._gpu = ""

    def describe(self) -> str:
        """Runtime, GPU, precision, profile."""
        ver = getattr(self._trt, "__version__", "?")
        prec = "fp16" if self.fp16 else "fp32"
        return f"tensorrt {ver} {self._gpu} {prec} batch {self.profile}"

    # -- build -----------------------------------------------------------------------------
    def _build_plan(self) -> bytes:
        trt = self._trt
        logger = trt.Logger(trt.Logger.WARNING)
        builder = trt.Builder(logger)
        flags = 0
        if hasattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH"):
            # TensorRT 8.x needs the flag; 10.x is always explicit-batch (flag deprecated).
            flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
        network = builder.create_network(flags)
        parser = trt.OnnxParser(network, logger)
        if not parser.parse_from_file(str(self.onnx_path)):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise ArtifactError(f"TensorRT cannot parse {self.onnx_path}: {errors}")
        config = builder.create_builder_config()
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, self.workspace_mb << 20)
        if self.fp16:
            config.set_flag(trt.BuilderFlag.FP16)
        profile = builder.create_optimization_profile()
        mn, opt, mx = self.profile
        for t in self.spec.inputs:
            profile.set_shape(t.name, (mn, *t.shape), (opt, *t.shape), (mx, *t.shape))
        config.add_optimization_profile(profile)
        log.info(
            "building TensorRT engine for %s (%s, batch %s); this takes a while",
            self.onnx_path,
            "fp16" if self.fp16 else "fp32",
            self.profile,
        )
        plan = builder.build_serialized_network(network, config)
        if plan is None:
            raise BackendError(f"TensorRT failed to build an engine from {self.onnx_path}")
        return bytes(plan)

    def load(self) -> None:
        """Build or read the cached plan, create the context, allocate buffers and a stream."""
        reason = tensorrt_unavailable_reason()
        if reason is not None:
            raise BackendError(f"tensorrt backend unavailable: {reason}")
        if not self.onnx_path.is_file():
            raise ArtifactError(f"{self.spec.kind} graph {self.onnx_path} does not exist")
        import pycuda.driver as cuda
        import tensorrt as trt

        self._trt, self._cuda = trt, cuda
        cuda.init()
        dev = cuda.Device(0)
        self._gpu = dev.name()
        self._ctx = dev.retain_primary_context()
        self._ctx.push()
        try:
            builder = trt.Builder(trt.Logger(trt.Logger.WARNING))
            self.fp16 = self.want_fp16 and bool(getattr(builder, "platform_has_fast_fp16", True))
            runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
            self._runtime = runtime  # must outlive the engines it deserializes
            key = plan_key(
                file_sha256(self.onnx_path), trt.__version__, self._gpu, self.profile, self.fp16
            )
            self.plan_path = self.cache.path(key)
            self._engine, self.built_now = self.cache.load_or_build(
                key,
                self._build_plan,
                runtime.deserialize_cuda_engine,
                note={
                    "onnx": str(self.onnx_path),
                    "tensorrt": trt.__version__,
                    "gpu": self._gpu,
                    "profile": list(self.profile),
                    "fp16": self.fp16,
                },
            )
            self._check_io()
            self._context = self._engine.create_execution_context()
            self._stream = cuda.Stream()
            mx = self.profile[2]
            for name, shape, dtype in self._io():
                self._host[name] = cuda.pagelocked_empty((mx, *shape), dtype)
                self._dev[name] = cuda.mem_alloc(self._host[name].nbytes)
        finally:
            self._ctx.pop()
        self.loaded = True
        log.info(
            "%s engine %s (%s)",
            "built" if self.built_now else "loaded cached",
            self.plan_path,
            self.describe(),
        )

    def _io(self) -> list[tuple[str, tuple[int, ...], Any]]:
        trt = self._trt
        out = []
        for i in range(self._engine.num_io_tensors):
            name = self._engine.get_tensor_name(i)
            shape = tuple(int(d) for d in self._engine.get_tensor_shape(name))[1:]
            dtype = np.dtype(trt.nptype(self._engine.get_tensor_dtype(name)))
            out.append((name, shape, dtype))
        return out

    def _check_io(self) -> None:
        trt = self._trt
        names = {
            self._engine.get_tensor_name(i): self._engine.get_tensor_mode(
                self._engine.get_tensor_name(i)
            )
            for i in range(self._engine.num_io_tensors)
        }
        for t in self.spec.inputs:
            if names.get(t.name) != trt.TensorIOMode.INPUT:
                raise ArtifactError(
                    f"{self.onnx_path}: the engine has no input {t.name!r} (not a "
                    f"{self.spec.kind} graph?)"
                )
        if names.get(self.spec.output) != trt.TensorIOMode.OUTPUT:
            raise ArtifactError(f"{self.onnx_path}: the engine has no output {self.spec.output!r}")

    # -- run -------------------------------------------------------------------------------
    def _run(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        n = next(iter(inputs.values())).shape[0]
        mx = self.profile[2]
        parts = []
        self._ctx.push()
        try:
            for start in range(0, n, mx):
                chunk = {k: v[start : start + mx] for k, v in inputs.items()}
                parts.append(self._run_chunk(chunk))
        finally:
            self._ctx.pop()
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def _run_chunk(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        cuda, ctx, stream = self._cuda, self._context, self._stream
        b = next(iter(inputs.values())).shape[0]
        if b < self.profile[0]:
            # Below the profile's minimum: pad with zeros and drop the extra rows after.
            pad = self.profile[0] - b
            inputs = {
                k: np.concatenate([v, np.zeros((pad, *v.shape[1:]), v.dtype)])
                for k, v in inputs.items()
            }
        rows = next(iter(inputs.values())).shape[0]
        for name, arr in inputs.items():
            host = self._host[name][:rows]
            np.copyto(host, arr, casting="same_kind")
            cuda.memcpy_htod_async(self._dev[name], host, stream)
            ctx.set_input_shape(name, arr.shape)
        for name, dev in self._dev.items():
            ctx.set_tensor_address(name, int(dev))
        if not ctx.execute_async_v3(stream.handle):
            raise BackendError(f"TensorRT execution of the {self.spec.kind} graph failed")
        out_host = self._host[self.spec.output][:rows]
        cuda.memcpy_dtoh_async(out_host, self._dev[self.spec.output], stream)
        stream.synchronize()
        return np.array(out_host[:b], dtype=np.float32)

    def close(self) -> None:
        """Free buffers, context, engine and pop the CUDA context."""
        if self._ctx is None:
            return
        self._ctx.push()
        try:
            self._context = None
            self._engine = None
            for d in self._dev.values():
                d.free()
            self._dev.clear()
            self._host.clear()
            self._stream = None
        finally:
            self._ctx.pop()
            self._runtime = None
            self._ctx = None  # the retained primary context is released with the object
            self.loaded = False


def _engine(cfg: ClipConfig, model: LoadedClip, spec: GraphSpec, onnx_path: Path) -> Backend:
    from engines.clip.artifacts import model_cache_dir

    t = cfg.tensorrt
    return TensorRTBackend(
        spec,
        onnx_path,
        cache_dir=model_cache_dir(cfg, model) / "trt",
        min_batch=t.min_batch,
        opt_batch=t.opt_batch,
        max_batch=t.max_batch,
        fp16=cfg.fp16,
        workspace_mb=t.workspace_mb,
    )


def _clip_visual(cfg: ClipConfig, model: LoadedClip) -> tuple[Backend, str]:
    from engines.clip.artifacts import ensure_visual_fp32

    onnx_path = ensure_visual_fp32(cfg, model)
    be = _engine(cfg, model, visual_spec(model.preprocess.output_hw), onnx_path)
    return be, f"engine from {onnx_path}"


def _clip_temporal(cfg: ClipConfig, model: LoadedClip, enc: TemporalEncoder) -> Backend:
    from engines.clip.artifacts import prepare_temporal

    spec = temporal_spec(enc.window_frames, enc.embed_dim)
    return _engine(cfg, model, spec, prepare_temporal(cfg, model, enc))


#: The ``tensorrt`` runtime backend (``auto`` tries it first); configured by model.clip.tensorrt.
PLUGIN: Plugin[RuntimeFactory] = Plugin(
    "tensorrt",
    RuntimeFactory(
        _clip_visual,
        _clip_temporal,
        needs_cuda=True,
        auto_note="tensorrt, pycuda and a CUDA GPU are present",
    ),
    config=ClipTensorRTConfig,
    description="NVIDIA TensorRT engines (FP16) executed with pycuda; needs a CUDA GPU.",
    check=tensorrt_unavailable_reason,
    auto_rank=0,
)
