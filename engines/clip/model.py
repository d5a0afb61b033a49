"""Loading CLIP/SigLIP models through transformers: vision tower + projection, text prompts."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from engines.clip.preprocess import PreprocessSpec
from engines.errors import ModelLoadError

log = logging.getLogger(__name__)

#: model_type in config.json -> (family, has a text tower)
SUPPORTED_MODEL_TYPES: dict[str, tuple[str, bool]] = {
    "clip": ("clip", True),
    "siglip": ("siglip", True),
    "clip_vision_model": ("clip", False),
    "siglip_vision_model": ("siglip", False),
}

CONFIG_KEY = "model.clip.visual"


class VisionTower(nn.Module):
    """Vision transformer + projection; returns L2-normalised image embeddings ``N x D``."""

    def __init__(self, vision_model: nn.Module, projection: nn.Module | None) -> None:
        super().__init__()
        self.vision_model = vision_model
        self.projection = projection

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """``pixel_values``: ``N x 3 x H x W`` float (already preprocessed)."""
        out = self.vision_model(pixel_values=pixel_values)
        pooled = out.pooler_output if hasattr(out, "pooler_output") else out[1]
        if self.projection is not None:
            pooled = self.projection(pooled)
        return nn.functional.normalize(pooled.float(), dim=-1)


def tensor_fingerprint(module: nn.Module) -> str:
    """A short content hash of a module's parameters and buffers (names, shapes and values).

    Large tensors are hashed on a strided sample plus their sum so that a ViT-B costs
    milliseconds, not seconds; any retrained or different model changes it.
    """
    h = hashlib.sha256()
    for name, t in sorted(module.state_dict().items()):
        a = t.detach().to("cpu", torch.float32).contiguous().reshape(-1)
        h.update(f"{name}:{tuple(t.shape)}:{t.dtype};".encode())
        if a.numel() > 65536:
            step = max(1, a.numel() // 4096)
            h.update(a[::step].numpy().tobytes())
            h.update(np.float64(a.double().sum().item()).tobytes())
        else:
            h.update(a.numpy().tobytes())
    return h.hexdigest()


@dataclass
class LoadedClip:
    """A loaded CLIP/SigLIP model, ready to encode images (and prompts, if it has a text tower)."""

    source: str
    model_type: str
    family: str
    vision: VisionTower
    embed_dim: int
    image_size: int
    preprocess: PreprocessSpec
    logit_scale: float
    fingerprint: str
    _full_model: nn.Module | None = field(default=None, repr=False)
    _tokenizer: Any = field(default=None, repr=False)
    _text_max_len: int = 77

    @property
    def has_text(self) -> bool:
        """True while the text tower is loaded (until :meth:`release_text`)."""
        return self._full_model is not None and self._tokenizer is not None

    @torch.inference_mode()
    def encode_text(self, prompts: Sequence[str]) -> np.ndarray:
        """L2-normalised text embeddings ``P x D`` (float32) of the prompts."""
        if not self.has_text:
            raise ModelLoadError(
                f"{CONFIG_KEY}: {self.source} has no text tower (a vision-only "
                f"{self.model_type!r} model); zero-shot heads need a full CLIP/SigLIP model, "
                "or set model.clip.temporal.weights to trained heads"
            )
        assert self._full_model is not None
        padding: Any = "max_length" if self.family == "siglip" else True
        enc = self._tokenizer(
            list(prompts),
            padding=padding,
            truncation=True,
            max_length=self._text_max_len,
            return_tensors="pt",
        )
        feeds = {k: v for k, v in enc.items() if k in ("input_ids", "attention_mask")}
        out = self._full_model.get_text_features(**feeds)  # type: ignore[operator]
        emb = out if isinstance(out, torch.Tensor) else out.pooler_output
        return nn.functional.normalize(emb.float(), dim=-1).cpu().numpy()

    @torch.inference_mode()
    def encode_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """Reference (torch fp32, CPU) image embeddings of a preprocessed pixel batch."""
        emb: torch.Tensor = self.vision(torch.from_numpy(np.ascontiguousarray(pixels)))
        out: np.ndarray = emb.cpu().numpy()
        return out

    def release_text(self) -> None:
        """Drop the text tower and tokenizer (after prompt embeddings are computed)."""
        self._full_model = None
        self._tokenizer = None


def _is_local_path(value: str) -> bool:
    if value.startswith(("/", "./", "../", "~", "\\")) or os.path.exists(value):
        return True
    # A hub id is "name" or "org/name"; anything with more parts is a path.
    return value.count("/") > 1 or (os.sep != "/" and os.sep in value)


def resolve_source(value: str) -> tuple[str, bool]:
    """Return (source, is_local) for a hub id or local folder; raise for a bad folder."""
    if not _is_local_path(value):
        return value, False
    p = Path(value).expanduser()
    if not p.exists():
        raise ModelLoadError(f"{CONFIG_KEY}: model folder {p} does not exist")
    if not p.is_dir():
        raise ModelLoadError(
            f"{CONFIG_KEY}: {p} is a file; expected a model folder with config.json "
            "(as written by save_pretrained)"
        )
    if not (p / "config.json").is_file():
        raise ModelLoadError(
            f"{CONFIG_KEY}: {p} has no config.json, so it is not a transformers model folder"
        )
    return str(p), True


def _read_config(source: str, is_local: bool, local_files_only: bool) -> Any:
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(source, local_files_only=local_files_only)
    except (OSError, ValueError, KeyError) as exc:
        where = "folder" if is_local else "hub model"
        if is_local:
            hint = ""
        elif local_files_only:
            hint = (
                " (not in the local hub cache, and downloads are off: put the model in a "
                "folder with save_pretrained and point model.clip.visual at it, or allow one "
                "download with `vigil engines export/build --download` or "
                "model.clip.local_files_only: false; HF_HUB_OFFLINE=1 forbids it)"
            )
        else:
            hint = (
                " (not in the local hub cache and it could not be downloaded; put the model "
                "in a folder with save_pretrained and point model.clip.visual at it)"
            )
        raise ModelLoadError(
            f"{CONFIG_KEY}: cannot read the config of {where} {source!r}{hint}: {exc}"
        ) from exc


def _processor_dict(source: str, local_files_only: bool) -> dict[str, Any]:
    from transformers.image_processing_base import ImageProcessingMixin

    try:
        d, _ = ImageProcessingMixin.get_image_processor_dict(
            source, local_files_only=local_files_only
        )
        return dict(d)
    except (OSError, ValueError) as exc:
        log.warning(
            "model %s has no readable image-processor config (%s); using the family defaults",
            source,
            exc,
        )
        return {}


def load_clip(
    value: str,
    *,
    local_files_only: bool = True,
    with_text: bool = True,
) -> LoadedClip:
    """Load a CLIP/SigLIP model from a hub id or a local folder (``save_pretrained`` layout).

    Raises :class:`ModelLoadError` with the config key and the path for a missing folder, a
    folder that is not a model, a model of another family, or incomplete weights.
    """
    source, is_local = resolve_source(value)
    from transformers.utils import logging as hf_logging

    # no tqdm bars in service logs (transformers leaves this function unannotated)
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call,unused-ignore]
    cfg = _read_config(source, is_local, local_files_only)
    model_type, family, has_text = _model_type(cfg, source)
    model = _load_weights(source, model_type, family, local_files_only)
    tower, image_size, embed_dim = _vision_tower(model, cfg, family, source)
    spec = _preprocess_spec(source, family, image_size, local_files_only)
    scale_param = getattr(model, "logit_scale", None)
    logit_scale = float(scale_param.exp().item()) if scale_param is not None else 100.0
    tokenizer: Any = None
    text_max_len = 77
    full: nn.Module | None = None
    if has_text and with_text:
        tokenizer, text_max_len = _text_side(cfg, source, local_files_only)
        full = model
    fingerprint = tensor_fingerprint(tower)
    log.info(
        "loaded %s model %s: image %dx%d, embedding %d, fingerprint %s",
        model_type,
        source,
        image_size,
        image_size,
        embed_dim,
        fingerprint[:12],
    )
    return LoadedClip(
        source=source,
        model_type=model_type,
        family=family,
        vision=tower,
        embed_dim=embed_dim,
        image_size=image_size,
        preprocess=spec,
        logit_scale=logit_scale,
        fingerprint=fingerprint,
        _full_model=full,
        _tokenizer=tokenizer,
        _text_max_len=text_max_len,
    )


#: model_type -> the transformers class that loads it
_MODEL_CLASSES = {
    "clip": "CLIPModel",
    "siglip": "SiglipModel",
    "clip_vision_model": "CLIPVisionModelWithProjection",
    "siglip_vision_model": "SiglipVisionModel",
}


def _model_type(cfg: Any, source: str) -> tuple[str, str, bool]:
    """(model_type, family, has a text tower) of a model config; raise for another family."""
    model_type = str(getattr(cfg, "model_type", ""))
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise ModelLoadError(
            f"{CONFIG_KEY}: {source} is a {model_type or 'unknown'!r} model; expected a "
            f"CLIP or SigLIP model (model_type one of {', '.join(sorted(SUPPORTED_MODEL_TYPES))})"
        )
    family, has_text = SUPPORTED_MODEL_TYPES[model_type]
    return model_type, family, has_text


def _load_weights(source: str, model_type: str, family: str, local_files_only: bool) -> nn.Module:
    """The model in float32 eval mode; raise for unreadable or incomplete weights."""
    import transformers

    cls_name = _MODEL_CLASSES[model_type]
    model_cls = getattr(transformers, cls_name)
    try:
        model, info = model_cls.from_pretrained(
            source, local_files_only=local_files_only, output_loading_info=True
        )
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelLoadError(f"{CONFIG_KEY}: cannot load the weights of {source}: {exc}") from exc
    missing = list(info.get("missing_keys") or [])
    if missing:
        raise ModelLoadError(
            f"{CONFIG_KEY}: {source} lacks {len(missing)} weight tensor(s) of a {cls_name} "
            f"(e.g. {', '.join(sorted(missing)[:3])}); is it a complete {family} checkpoint?"
        )
    loaded: nn.Module = model.float().eval()
    return loaded


def _vision_tower(
    model: nn.Module, cfg: Any, family: str, source: str
) -> tuple[VisionTower, int, int]:
    """(vision tower, image side, embedding size); the size is probed with a blank image."""
    vcfg = cfg.vision_config if hasattr(cfg, "vision_config") else cfg
    image_size = int(vcfg.image_size)
    projection: nn.Module | None = getattr(model, "visual_projection", None)
    vision_model = model.get_submodule("vision_model")
    if family == "siglip" and getattr(vision_model, "head", None) is None:
        raise ModelLoadError(
            f"{CONFIG_KEY}: {source} is a SigLIP model without a pooling head "
            "(vision_use_head: false); its image embeddings are not defined"
        )
    tower = VisionTower(vision_model, projection).eval()
    with torch.inference_mode():
        probe = tower(torch.zeros(1, 3, image_size, image_size))
    return tower, image_size, int(probe.shape[-1])


def _preprocess_spec(
    source: str, family: str, image_size: int, local_files_only: bool
) -> PreprocessSpec:
    """The model's preprocessing; raise for a bad config or an output size the tower rejects."""
    try:
        spec = PreprocessSpec.from_processor_dict(
            _processor_dict(source, local_files_only), family, image_size
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelLoadError(f"{CONFIG_KEY}: {source}: bad image-processor config: {exc}") from exc
    if spec.output_hw != (image_size, image_size):
        raise ModelLoadError(
            f"{CONFIG_KEY}: {source}: the image processor produces {spec.output_hw[0]}x"
            f"{spec.output_hw[1]} images but the vision tower expects {image_size}x{image_size}"
        )
    return spec


def _text_side(cfg: Any, source: str, local_files_only: bool) -> tuple[Any, int]:
    """(tokenizer, maximum prompt length in tokens) for zero-shot prompts."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_files_only)
    except (OSError, ValueError, TypeError) as exc:
        raise ModelLoadError(
            f"{CONFIG_KEY}: cannot load the tokenizer of {source} (zero-shot prompts need "
            f"it): {exc}"
        ) from exc
    return tokenizer, int(getattr(cfg.text_config, "max_position_embeddings", 77))
