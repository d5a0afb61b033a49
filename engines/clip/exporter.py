"""Export the clip profile's graphs to a folder with parity checks, and build engines ahead of time.

Used by ``vigil engines export`` and ``vigil engines build``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from engines.backends import choose_backend
from engines.backends.base import temporal_spec, visual_spec
from engines.backends.ort import OrtBackend
from engines.clip.artifacts import (
    TEMPORAL_FILE,
    VISUAL_FILE,
    VISUAL_INT8_FILE,
    export_temporal,
    export_visual,
    measure_int8,
)
from engines.clip.model import LoadedClip
from engines.clip.preprocess import preprocess_bgr
from engines.clip.scorer import load_components, make_temporal_backend, make_visual_backend
from engines.clip.temporal import TemporalEncoder, window_batch
from engines.clip.zeroshot import PromptBank, frame_probabilities
from engines.export import check_images, quantize_int8
from engines.settings import ClipConfig

log = logging.getLogger(__name__)

#: fp32 parity bound between ONNX Runtime and torch (embeddings and logits).
PARITY_ATOL = 1e-4


@dataclass
class ExportReport:
    """What ``export_bundle`` wrote and how closely the graphs match torch."""

    visual_path: Path
    temporal_path: Path
    visual_max_diff: float
    temporal_max_diff: float
    visual_top_event_match: bool | None  # zero-shot top event per check image; None: no prompts
    temporal_top_event_match: bool
    temporal_trained: bool
    int8_path: Path | None = None
    int8_min_cosine: float | None = None
    int8_mean_cosine: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """fp32 parity within PARITY_ATOL and the same top events."""
        return (
            self.visual_max_diff <= PARITY_ATOL
            and self.temporal_max_diff <= PARITY_ATOL
            and self.visual_top_event_match is not False
            and self.temporal_top_event_match
        )


def _untrained_temporal(
    cfg: ClipConfig, model: LoadedClip, events: tuple[str, ...]
) -> TemporalEncoder:
    t = cfg.temporal
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(0)
    try:
        enc = TemporalEncoder(
            model.embed_dim,
            events,
            window_frames=t.window_frames,
            layers=t.layers,
            heads=t.heads,
            width=t.width,
        )
    finally:
        torch.random.set_rng_state(gen_state)
    return enc.eval()


def _check_windows(embs: np.ndarray, window_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows of varying fill (1 frame .. full) from a sequence of embeddings."""
    n = len(embs)
    lengths = sorted({1, max(1, window_frames // 2), window_frames, min(n, window_frames)})
    hists = [[embs[(start + k) % n] for k in range(length)] for start, length in enumerate(lengths)]
    return window_batch(hists, window_frames, embs.shape[1])


def export_bundle(cfg: ClipConfig, out_dir: str | Path, *, int8: bool = False) -> ExportReport:
    """Write ``visual.onnx`` and ``temporal.onnx`` (dynamic batch, ONNX-checked) to ``out_dir``
    and compare ONNX Runtime fp32 with torch on the check set; with ``int8`` also write
    ``visual.int8.onnx`` and measure its embedding cosine to fp32."""
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    model, bank, enc = load_components(cfg)
    notes: list[str] = []
    trained = enc is not None
    if enc is None:
        assert bank is not None
        enc = _untrained_temporal(cfg, model, bank.events)
        notes.append(
            "temporal encoder has no trained weights (model.clip.temporal.weights): exported "
            "with its initial weights; the zero-shot heads score until it is trained"
        )
    vpath = export_visual(model, out / VISUAL_FILE)
    tpath = export_temporal(enc, out / TEMPORAL_FILE, model.fingerprint)

    ref, got = _visual_parity(cfg, model, vpath)
    vdiff = float(np.abs(got - ref).max())
    top_match: bool | None = None
    if bank is not None:
        top_match = _same_top(bank, ref, got)
    tdiff, t_match = _temporal_parity(enc, tpath, ref)

    report = ExportReport(
        visual_path=vpath,
        temporal_path=tpath,
        visual_max_diff=vdiff,
        temporal_max_diff=tdiff,
        visual_top_event_match=top_match,
        temporal_top_event_match=t_match,
        temporal_trained=trained,
        notes=notes,
    )
    if int8:
        qpath = quantize_int8(vpath, out / VISUAL_INT8_FILE)
        report.int8_path = qpath
        report.int8_min_cosine, report.int8_mean_cosine = measure_int8(
            vpath, qpath, model, threads=cfg.threads
        )
    return report


def _visual_parity(
    cfg: ClipConfig, model: LoadedClip, vpath: Path
) -> tuple[np.ndarray, np.ndarray]:
    """(torch, ONNX Runtime fp32) embeddings of the check images."""
    pixels = preprocess_bgr(check_images(16), model.preprocess, cfg.resize)
    ref = model.encode_pixels(pixels)
    vis = OrtBackend(
        visual_spec(model.preprocess.output_hw), vpath, device="cpu", threads=cfg.threads
    )
    vis.load()
    try:
        got = vis.run({"pixel_values": pixels})
    finally:
        vis.close()
    return ref, got


def _temporal_parity(enc: TemporalEncoder, tpath: Path, embs: np.ndarray) -> tuple[float, bool]:
    """(largest logit difference, same top event everywhere) of ONNX Runtime vs torch."""
    t_emb, t_mask = _check_windows(embs, enc.window_frames)
    with torch.inference_mode():
        t_ref = enc(torch.from_numpy(t_emb), torch.from_numpy(t_mask)).numpy()
    tb = OrtBackend(temporal_spec(enc.window_frames, enc.embed_dim), tpath, device="cpu")
    tb.load()
    try:
        t_got = tb.run({"embeddings": t_emb, "mask": t_mask})
    finally:
        tb.close()
    tdiff = float(np.abs(t_got - t_ref).max())
    t_match = bool((t_ref.argmax(-1) == t_got.argmax(-1)).all())
    return tdiff, t_match


def _same_top(bank: PromptBank, a: np.ndarray, b: np.ndarray) -> bool:
    pa, pb = frame_probabilities(bank, a), frame_probabilities(bank, b)
    return bool((pa.argmax(-1) == pb.argmax(-1)).all())


@dataclass
class BuildReport:
    """What ``build_ahead`` prepared."""

    backend: str
    why: str
    lines: list[str]


def build_ahead(cfg: ClipConfig) -> BuildReport:
    """Prepare the configured backend's artefacts now (export, int8 check, TensorRT plans), so
    that ``vigil run`` starts without building. Raises BackendError if the backend cannot run."""
    name, why = choose_backend(cfg.backend, cfg.device)
    model, _bank, enc = load_components(cfg)
    lines: list[str] = []
    visual, note = make_visual_backend(name, cfg, model)
    try:
        visual.load()
        lines.append(f"visual: {visual.describe()} ({note})")
        plan = getattr(visual, "plan_path", None)
        if plan is not None:
            built = "built" if getattr(visual, "built_now", False) else "cached"
            lines.append(f"visual engine plan ({built}): {plan}")
        onnx_path = getattr(visual, "onnx_path", None)
        if onnx_path is not None:
            lines.append(f"visual graph: {onnx_path}")
    finally:
        visual.close()
    if enc is not None:
        temporal = make_temporal_backend(name, cfg, model, enc)
        try:
            temporal.load()
            lines.append(f"temporal: {temporal.describe()}")
            plan = getattr(temporal, "plan_path", None)
            if plan is not None:
                lines.append(f"temporal engine plan: {plan}")
        finally:
            temporal.close()
    if name == "torch":
        lines.append("torch runs the model directly: nothing to build")
    return BuildReport(name, why, lines)
