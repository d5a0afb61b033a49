"""The torch reference backend: the module itself, CUDA with fp16 autocast when available.

torch is imported only when a backend is made or run, never when this module is (so that
looking up :data:`~engines.backends.RUNTIME_BACKENDS` does not import torch).
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from engines.backends.base import Backend, GraphSpec, RuntimeFactory, temporal_spec, visual_spec
from engines.errors import BackendError
from engines.registry import Plugin

if TYPE_CHECKING:
    from torch import nn

    from engines.clip.model import LoadedClip
    from engines.clip.temporal import TemporalEncoder
    from engines.settings import ClipConfig

log = logging.getLogger(__name__)


def torch_unavailable_reason() -> str | None:
    """Why the torch backend cannot run here (torch missing), or None; imports nothing."""
    if importlib.util.find_spec("torch") is None:
        return "the torch package is not installed"
    return None


def cuda_available() -> bool:
    """True when torch sees a CUDA device."""
    import torch

    try:
        return bool(torch.cuda.is_available())
    except Exception:  # a broken driver install must not crash selection
        return False


class TorchBackend(Backend):
    """Runs an ``nn.Module`` whose ``forward`` takes the spec's inputs in order."""

    name = "torch"

    def __init__(
        self,
        spec: GraphSpec,
        module: nn.Module,
        *,
        device: str = "auto",
        fp16: bool = True,
        threads: int = 0,
    ) -> None:
        import torch

        super().__init__(spec)
        self.module = module
        if device == "auto":
            device = "cuda" if cuda_available() else "cpu"
        if device == "cuda" and not cuda_available():
            raise BackendError("torch backend: device cuda requested but torch sees no CUDA GPU")
        self.device = torch.device(device)
        self.fp16 = fp16 and self.device.type == "cuda"
        self.threads = threads

    def describe(self) -> str:
        """Runtime, device and precision."""
        import torch

        prec = "fp16 autocast" if self.fp16 else "fp32"
        return f"torch {torch.__version__} {self.device.type} {prec}"

    def load(self) -> None:
        """Move the module to its device in eval mode."""
        import torch

        if self.threads and self.device.type == "cpu":
            torch.set_num_threads(self.threads)
        self.module = self.module.to(self.device).eval()
        self.loaded = True

    def _run(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            args = [torch.from_numpy(inputs[t.name]).to(self.device) for t in self.spec.inputs]
            with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.fp16):
                out = self.module(*args)
            return np.asarray(out.float().cpu().numpy())

    def close(self) -> None:
        """Drop the module reference (and cached CUDA memory)."""
        import torch

        self.loaded = False
        if self.device.type == "cuda":
            torch.cuda.empty_cache()


def _clip_visual(cfg: ClipConfig, model: LoadedClip) -> tuple[Backend, str]:
    if cfg.onnx_dir is not None:
        log.info("backend torch runs the model itself; model.clip.onnx_dir is not used")
    spec = visual_spec(model.preprocess.output_hw)
    be = TorchBackend(spec, model.vision, device=cfg.device, fp16=cfg.fp16, threads=cfg.threads)
    return be, "torch reference"


def _clip_temporal(cfg: ClipConfig, model: LoadedClip, enc: TemporalEncoder) -> Backend:
    spec = temporal_spec(enc.window_frames, enc.embed_dim)
    return TorchBackend(spec, enc, device=cfg.device, fp16=cfg.fp16, threads=cfg.threads)


#: The ``torch`` reference backend (``auto``'s last resort: it runs wherever torch is installed).
PLUGIN: Plugin[RuntimeFactory] = Plugin(
    "torch",
    RuntimeFactory(_clip_visual, _clip_temporal, auto_note="using the torch reference"),
    description="The torch modules themselves (the reference); CUDA fp16 autocast if present.",
    check=torch_unavailable_reason,
    auto_rank=2,
)
