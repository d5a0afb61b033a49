"""The ``clip`` scorer: visual encoder (batched across cameras) -> zero-shot or temporal heads.

This module builds it (:func:`build_clip_scorer`: load the model and heads, pick and load a
runtime backend); the scorer itself is :class:`engines.clip.scoring.ClipScorer`.
"""

from __future__ import annotations

import logging

from engines.backends import RUNTIME_BACKENDS, auto_candidates
from engines.backends.base import Backend
from engines.clip.model import LoadedClip, load_clip
from engines.clip.scoring import ENCODE_TIMEOUT_S, ClipScorer, ClipScorerStats
from engines.clip.temporal import TemporalEncoder, load_temporal
from engines.clip.zeroshot import PromptBank, build_prompt_bank
from engines.errors import ArtifactError, BackendError
from engines.settings import ClipConfig, ModelConfig

log = logging.getLogger(__name__)

__all__ = [
    "ENCODE_TIMEOUT_S",
    "ClipScorer",
    "ClipScorerStats",
    "build_clip_scorer",
    "load_components",
    "make_temporal_backend",
    "make_visual_backend",
]


def make_visual_backend(name: str, cfg: ClipConfig, model: LoadedClip) -> tuple[Backend, str]:
    """Create (not load) the visual backend of ``name``; returns it with a note for logs."""
    return RUNTIME_BACKENDS.get(name).factory.visual(cfg, model)


def make_temporal_backend(
    name: str, cfg: ClipConfig, model: LoadedClip, enc: TemporalEncoder
) -> Backend:
    """Create (not load) the temporal backend of ``name`` (exports the graph if needed)."""
    return RUNTIME_BACKENDS.get(name).factory.temporal(cfg, model, enc)


def load_components(
    cfg: ClipConfig,
) -> tuple[LoadedClip, PromptBank | None, TemporalEncoder | None]:
    """Load the model and the heads a config asks for (prompt embeddings are computed here)."""
    use_temporal = cfg.uses_temporal_heads
    model = load_clip(cfg.visual, local_files_only=cfg.offline, with_text=not use_temporal)
    if use_temporal:
        assert cfg.temporal.weights is not None
        enc = load_temporal(
            cfg.temporal.weights, embed_dim=model.embed_dim, key="model.clip.temporal.weights"
        )
        return model, None, enc
    zs = cfg.zeroshot
    bank = build_prompt_bank(
        zs.prompts, zs.normal, model.encode_text, zs.logit_scale or model.logit_scale
    )
    model.release_text()
    log.info(
        "zero-shot heads for %s: %d prompts, logit scale %.1f",
        ", ".join(bank.events),
        len(bank.prompts),
        bank.logit_scale,
    )
    return model, bank, None


def build_clip_scorer(config: ModelConfig) -> ClipScorer:
    """Build the clip scorer of a model config: load the model, pick and load the backend
    (``auto``: tensorrt, then onnxruntime, then torch, falling back when one fails to load),
    warm it up, and start the cross-camera batcher."""
    cfg = config.clip
    model, bank, enc = load_components(cfg)
    errors: list[str] = []
    for name in auto_candidates(cfg.backend, cfg.device):
        visual: Backend | None = None
        temporal: Backend | None = None
        try:
            visual, note = make_visual_backend(name, cfg, model)
            visual.load()
            visual.warmup((1,))
            if enc is not None:
                temporal = make_temporal_backend(name, cfg, model, enc)
                temporal.load()
                temporal.warmup((1,))
        except (BackendError, ArtifactError) as exc:
            for be in (visual, temporal):
                if be is not None:
                    be.close()
            user_graph = isinstance(exc, ArtifactError) and cfg.onnx_dir is not None
            if cfg.backend != "auto" or name == "torch" or user_graph:
                raise
            log.warning("clip backend %s failed (%s); trying the next one", name, exc)
            errors.append(f"{name}: {exc}")
            continue
        desc = f"{visual.describe()} ({note})"
        log.info("clip visual encoder on %s", desc)
        return ClipScorer(
            cfg,
            preprocess=model.preprocess,
            visual=visual,
            embed_dim=model.embed_dim,
            bank=bank,
            temporal=temporal,
            temporal_events=enc.events if enc is not None else (),
            temporal_window=enc.window_frames if enc is not None else cfg.temporal.window_frames,
            description=desc,
        )
    raise BackendError("no clip backend could be loaded: " + "; ".join(errors))
