"""Runtime backends behind one interface (``load``, ``warmup``, ``run``, ``close``).

``tensorrt`` (NVIDIA GPUs), ``onnxruntime`` (CPU, or its CUDA provider) and ``torch`` (the
reference), each a plugin of :data:`RUNTIME_BACKENDS` declared in its own module (its ``PLUGIN``:
a :class:`~engines.backends.base.RuntimeFactory` with its ``unavailable_reason``).
:func:`choose_backend` resolves ``auto`` by what is installed and present.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from engines.backends.base import (
    Backend,
    GraphSpec,
    RuntimeFactory,
    TensorSpec,
    temporal_spec,
    visual_spec,
)
from engines.errors import BackendError
from engines.registry import Plugin, Registry

log = logging.getLogger(__name__)

__all__ = [
    "RUNTIME_BACKENDS",
    "Backend",
    "GraphSpec",
    "RuntimeFactory",
    "TensorSpec",
    "choose_backend",
    "temporal_spec",
    "visual_spec",
]


def _builtin_backends() -> Iterable[Plugin[RuntimeFactory]]:
    from engines.backends import ort, torch_backend, trt

    return (trt.PLUGIN, ort.PLUGIN, torch_backend.PLUGIN)


#: The runtime backends by name (``model.clip.backend``; ``auto`` is resolved by
#: :func:`choose_backend`). The built-ins are imported on the first lookup.
RUNTIME_BACKENDS: Registry[RuntimeFactory] = Registry(
    "backend", key="model.clip.backend", error=BackendError, builtins=_builtin_backends
)


def _reason(plugin: Plugin[RuntimeFactory], device: str) -> str | None:
    if device == "cpu" and plugin.factory.needs_cuda:
        return "device is cpu"
    return plugin.unavailable_reason()


def choose_backend(requested: str, device: str = "auto") -> tuple[str, str]:
    """Resolve a configured backend name to one that can run here: (name, why).

    ``auto`` tries the backends in their ``auto_rank`` order: tensorrt (tensorrt + pycuda + a
    CUDA GPU, unless device is cpu), then onnxruntime (onnxruntime + onnx installed), then
    torch. An explicit name is checked and refused with the reason when it cannot run.
    """
    if requested != "auto":
        plugin = RUNTIME_BACKENDS.get(requested)
        reason = _reason(plugin, device)
        if reason is not None:
            raise BackendError(f"model.clip.backend: {requested} cannot run here: {reason}")
        return plugin.name, "configured"
    why: list[str] = []
    for plugin in RUNTIME_BACKENDS.auto_order():
        reason = _reason(plugin, device)
        if reason is None:
            return plugin.name, "auto: " + "; ".join([*why, plugin.factory.auto_note])
        why.append(f"not {plugin.name}: {reason}")
    raise BackendError("model.clip.backend: no backend can run here: " + "; ".join(why))


def auto_candidates(requested: str, device: str = "auto") -> list[str]:
    """The backends to try in turn: the chosen one, then (``auto`` only) the later ones."""
    name, why = choose_backend(requested, device)
    log.info("clip backend %s (%s)", name, why)
    if requested != "auto":
        return [name]
    order = [p.name for p in RUNTIME_BACKENDS.auto_order()]
    return order[order.index(name) :]
