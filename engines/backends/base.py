"""The interface every runtime backend implements: ``load``, ``warmup``, ``run``, ``close``."""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from engines.errors import BackendError

if TYPE_CHECKING:
    from engines.clip.model import LoadedClip
    from engines.clip.temporal import TemporalEncoder
    from engines.settings import ClipConfig


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """One graph input: name, shape without the batch axis, numpy dtype name."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"


@dataclass(frozen=True, slots=True)
class GraphSpec:
    """A graph with a dynamic batch axis: its inputs and its (single) output."""

    kind: str  # "visual" or "temporal"
    inputs: tuple[TensorSpec, ...]
    output: str

    def dummy_inputs(self, batch: int) -> dict[str, np.ndarray]:
        """Zero inputs of a batch size (for warm-up)."""
        return {t.name: np.zeros((batch, *t.shape), t.dtype) for t in self.inputs}


def visual_spec(image_hw: tuple[int, int]) -> GraphSpec:
    """The visual encoder graph: ``pixel_values`` N x 3 x H x W -> ``embeddings`` N x D."""
    return GraphSpec("visual", (TensorSpec("pixel_values", (3, *image_hw)),), "embeddings")


def temporal_spec(window_frames: int, embed_dim: int) -> GraphSpec:
    """The temporal encoder graph: ``embeddings`` B x T x D, ``mask`` B x T -> ``logits``."""
    return GraphSpec(
        "temporal",
        (
            TensorSpec("embeddings", (window_frames, embed_dim)),
            TensorSpec("mask", (window_frames,)),
        ),
        "logits",
    )


class Backend(abc.ABC):
    """A loaded graph on one runtime. Not thread-safe: call ``run`` from one thread at a time."""

    name: ClassVar[str]

    def __init__(self, spec: GraphSpec) -> None:
        self.spec = spec
        self.loaded = False

    @abc.abstractmethod
    def load(self) -> None:
        """Create the runtime session/engine (may build or read caches)."""

    @abc.abstractmethod
    def _run(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        """Run one batch (inputs already validated)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the runtime (idempotent)."""

    def describe(self) -> str:
        """One line for logs: runtime, device, precision."""
        return self.name

    def run(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        """Run a batch: every input has the spec's shape after a shared batch axis; returns the
        output as float32 with the same batch size."""
        if not self.loaded:
            raise BackendError(f"{self.name} backend for {self.spec.kind}: run before load()")
        batch: int | None = None
        feeds: dict[str, np.ndarray] = {}
        for t in self.spec.inputs:
            if t.name not in inputs:
                raise BackendError(f"{self.spec.kind} graph: missing input {t.name!r}")
            a = np.ascontiguousarray(inputs[t.name], dtype=t.dtype)
            if a.shape[1:] != t.shape:
                raise BackendError(
                    f"{self.spec.kind} graph input {t.name!r}: expected N x "
                    f"{' x '.join(map(str, t.shape))}, got {' x '.join(map(str, a.shape))}"
                )
            if batch is None:
                batch = a.shape[0]
            elif a.shape[0] != batch:
                raise BackendError(f"{self.spec.kind} graph: inputs disagree on batch size")
            feeds[t.name] = a
        if not batch:
            raise BackendError(f"{self.spec.kind} graph: empty batch")
        out = np.asarray(self._run(feeds), np.float32)
        if out.shape[0] != batch:
            raise BackendError(f"{self.name} returned {out.shape[0]} rows for a batch of {batch}")
        return out

    def warmup(self, batch_sizes: Sequence[int] = (1,)) -> None:
        """Run zero inputs of these batch sizes once (first-call allocations, autotuning)."""
        for b in batch_sizes:
            self.run(self.spec.dummy_inputs(b))


@dataclass(frozen=True, slots=True)
class RuntimeFactory:
    """How a runtime backend plugin builds (not loads) the clip profile's graphs.

    ``visual(cfg, model)`` returns the visual backend and a note for logs;
    ``temporal(cfg, model, encoder)`` the temporal one (exporting its graph if needed).
    ``needs_cuda``: the backend cannot run with ``device: cpu``. ``auto_note``: what the
    ``auto`` choice says when it picks this backend.
    """

    visual: Callable[[ClipConfig, LoadedClip], tuple[Backend, str]]
    temporal: Callable[[ClipConfig, LoadedClip, TemporalEncoder], Backend]
    needs_cuda: bool = False
    auto_note: str = ""
