"""Exported graphs of the clip profile: where they live, what they must match, int8 acceptance.

Every exported graph carries metadata (``vigil.kind``, ``vigil.fingerprint`` of the weights it
came from, shapes). A graph given by the user (``model.clip.onnx_dir``) is checked against the
configured model before use; graphs in ``cache_dir`` are keyed by the model fingerprint.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from engines.backends.base import visual_spec
from engines.backends.ort import OrtBackend
from engines.clip.model import LoadedClip, tensor_fingerprint
from engines.clip.preprocess import preprocess_bgr
from engines.clip.temporal import TemporalEncoder
from engines.errors import ArtifactError
from engines.export import check_images, cosine_rows, export_onnx, quantize_int8, read_metadata
from engines.settings import ClipConfig

log = logging.getLogger(__name__)

VISUAL_FILE = "visual.onnx"
VISUAL_INT8_FILE = "visual.int8.onnx"
TEMPORAL_FILE = "temporal.onnx"
INT8_REPORT_FILE = "visual.int8.json"


def visual_metadata(model: LoadedClip) -> dict[str, str]:
    """Metadata stored in visual.onnx."""
    h, w = model.preprocess.output_hw
    return {
        "kind": "visual",
        "fingerprint": model.fingerprint,
        "source": model.source,
        "model_type": model.model_type,
        "embed_dim": str(model.embed_dim),
        "image_hw": f"{h}x{w}",
        "precision": "fp32",
    }


def temporal_metadata(enc: TemporalEncoder, visual_fingerprint: str) -> dict[str, str]:
    """Metadata stored in temporal.onnx."""
    return {
        "kind": "temporal",
        "fingerprint": tensor_fingerprint(enc),
        "visual_fingerprint": visual_fingerprint,
        "embed_dim": str(enc.embed_dim),
        "events": ",".join(enc.events),
        "window_frames": str(enc.window_frames),
        "precision": "fp32",
    }


def export_visual(model: LoadedClip, path: str | Path) -> Path:
    """Write the visual encoder (pixels -> L2-normalised embeddings) to ``path``."""
    h, w = model.preprocess.output_hw
    return export_onnx(
        model.vision,
        (torch.zeros(2, 3, h, w),),
        path,
        input_names=["pixel_values"],
        output_name="embeddings",
        metadata=visual_metadata(model),
    )


def export_temporal(enc: TemporalEncoder, path: str | Path, visual_fingerprint: str) -> Path:
    """Write the temporal encoder (embeddings + mask -> per-event logits) to ``path``."""
    t, d = enc.window_frames, enc.embed_dim
    mask = torch.ones(2, t)
    mask[0, : t // 2] = 0.0
    return export_onnx(
        enc,
        (torch.randn(2, t, d), mask),
        path,
        input_names=["embeddings", "mask"],
        output_name="logits",
        metadata=temporal_metadata(enc, visual_fingerprint),
    )


def check_visual_graph(path: str | Path, model: LoadedClip) -> dict[str, str]:
    """Raise ArtifactError unless ``path`` is a visual graph exported from this very model."""
    meta = read_metadata(path)
    if meta.get("kind") != "visual":
        raise ArtifactError(
            f"{path} is not a Vigil visual-encoder graph (kind {meta.get('kind')!r}); export it "
            "with `vigil engines export`"
        )
    if meta.get("fingerprint") != model.fingerprint:
        raise ArtifactError(
            f"{path} was exported from another model ({meta.get('source', '?')}, weights "
            f"{meta.get('fingerprint', '?')[:12]}) than model.clip.visual {model.source} "
            f"(weights {model.fingerprint[:12]}); re-run `vigil engines export`"
        )
    return meta


def check_temporal_graph(path: str | Path, enc: TemporalEncoder) -> dict[str, str]:
    """Raise ArtifactError unless ``path`` is a temporal graph of these temporal weights."""
    meta = read_metadata(path)
    if meta.get("kind") != "temporal":
        raise ArtifactError(f"{path} is not a Vigil temporal-encoder graph")
    if meta.get("fingerprint") != tensor_fingerprint(enc):
        raise ArtifactError(
            f"{path} holds other temporal-encoder weights than model.clip.temporal.weights; "
            "re-run `vigil engines export`"
        )
    return meta


@dataclass(frozen=True)
class VisualGraphs:
    """The visual graph to run, and what is known about its int8 variant."""

    fp32: Path
    chosen: Path
    precision: str  # "fp32" or "int8"
    int8_min_cosine: float | None  # measured on the check set; None if int8 was not tried
    note: str


def model_cache_dir(cfg: ClipConfig, model: LoadedClip) -> Path:
    """``cache_dir/<model fingerprint>``: graphs and plans of this model."""
    return Path(cfg.cache_dir).expanduser() / model.fingerprint[:20]


def ensure_visual_fp32(cfg: ClipConfig, model: LoadedClip) -> Path:
    """The fp32 visual graph: from ``onnx_dir`` (checked) or the cache (exported if missing or
    not matching)."""
    if cfg.onnx_dir is not None:
        p = Path(cfg.onnx_dir).expanduser() / VISUAL_FILE
        if not p.is_file():
            raise ArtifactError(f"model.clip.onnx_dir: {p} does not exist")
        check_visual_graph(p, model)
        return p
    p = model_cache_dir(cfg, model) / VISUAL_FILE
    if p.is_file():
        try:
            check_visual_graph(p, model)
            return p
        except ArtifactError as exc:
            log.warning("cached %s is unusable (%s); exporting again", p, exc)
    log.info("exporting the visual encoder of %s to %s", model.source, p)
    return export_visual(model, p)


def measure_int8(
    fp32_path: Path, int8_path: Path, model: LoadedClip, *, threads: int = 0, n: int = 16
) -> tuple[float, float]:
    """(min, mean) embedding cosine of the int8 graph against the fp32 graph on the check set."""
    pixels = preprocess_bgr(check_images(n), model.preprocess)
    spec = visual_spec(model.preprocess.output_hw)
    outs = []
    for path, prec in ((fp32_path, "fp32"), (int8_path, "int8")):
        be = OrtBackend(spec, path, device="cpu", threads=threads, precision=prec)
        be.load()
        try:
            outs.append(be.run({"pixel_values": pixels}))
        finally:
            be.close()
    cos = cosine_rows(outs[0], outs[1])
    return float(cos.min()), float(cos.mean())


def prepare_visual(cfg: ClipConfig, model: LoadedClip, *, int8: bool) -> VisualGraphs:
    """Export (or reuse) the visual graph and, if asked, its int8 variant, accepted only when
    its embeddings stay within ``int8_min_cosine`` of fp32 on the check set."""
    fp32 = ensure_visual_fp32(cfg, model)
    if not int8:
        return VisualGraphs(fp32, fp32, "fp32", None, "fp32 requested")
    folder = fp32.parent if cfg.onnx_dir is None else model_cache_dir(cfg, model)
    q = folder / VISUAL_INT8_FILE
    report = folder / INT8_REPORT_FILE
    min_cos: float | None = None
    if q.is_file() and report.is_file():
        try:
            data = json.loads(report.read_text())
            check_visual_graph(q, model)  # a broken or foreign int8 file is re-made
            if data.get("fp32_fingerprint") == model.fingerprint and data.get("fp32") == str(fp32):
                min_cos = float(data["min_cosine"])
        except (ValueError, KeyError, OSError, ArtifactError) as exc:
            log.info("re-making the int8 graph %s (%s)", q, exc)
            min_cos = None
    if min_cos is None:
        log.info("quantizing %s to int8 and checking it against fp32", fp32)
        quantize_int8(fp32, q)
        min_cos, mean_cos = measure_int8(fp32, q, model, threads=cfg.threads)
        report.write_text(
            json.dumps(
                {
                    "fp32": str(fp32),
                    "fp32_fingerprint": model.fingerprint,
                    "min_cosine": min_cos,
                    "mean_cosine": mean_cos,
                },
                indent=2,
            )
        )
    if min_cos >= cfg.int8_min_cosine:
        note = f"int8 accepted: min cosine {min_cos:.5f} >= {cfg.int8_min_cosine}"
        log.info("%s", note)
        return VisualGraphs(fp32, q, "int8", min_cos, note)
    note = f"int8 rejected: min cosine {min_cos:.5f} < {cfg.int8_min_cosine}; using fp32"
    log.warning("%s", note)
    return VisualGraphs(fp32, fp32, "fp32", min_cos, note)


def prepare_temporal(cfg: ClipConfig, model: LoadedClip, enc: TemporalEncoder) -> Path:
    """The temporal graph for these weights: from ``onnx_dir`` (checked) or the cache."""
    if cfg.onnx_dir is not None:
        p = Path(cfg.onnx_dir).expanduser() / TEMPORAL_FILE
        if not p.is_file():
            raise ArtifactError(f"model.clip.onnx_dir: {p} does not exist")
        check_temporal_graph(p, enc)
        return p
    p = model_cache_dir(cfg, model) / f"temporal-{tensor_fingerprint(enc)[:16]}.onnx"
    if p.is_file():
        try:
            check_temporal_graph(p, enc)
            return p
        except ArtifactError as exc:
            log.warning("cached %s is unusable (%s); exporting again", p, exc)
    return export_temporal(enc, p, model.fingerprint)
