"""Configuration of the models (owned by the engines stage)."""

from __future__ import annotations

import os
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engines.catalogue import CATALOGUE
from engines.plugins.settings import PluginConfig, YoloPluginConfig

#: Event types the weight-free ``cues`` profile detects (what ``CueScorer`` reports).
CUES_EVENTS: tuple[str, ...] = ("fall", "fire", "smoke", "intrusion")


class CuesConfig(BaseModel):
    """The weight-free cue encoder (OpenCV features and temporal rules)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_side_px: int = Field(
        480, ge=120, le=1920, description="Frames are downscaled to this longest side first."
    )
    min_blob_area: float = Field(
        0.004, gt=0, lt=0.5, description="Smallest foreground blob, as a fraction of the frame."
    )
    background_history_s: float = Field(
        60.0, ge=5, le=3600, description="Seconds of history in the background model."
    )
    plugins: list[PluginConfig] = Field(
        default_factory=list,
        description="ONNX detector plugins (kind: yolo or classifier) run on motion-gated "
        "crops; see docs/PLUGINS.md. At most one yolo detector.",
    )

    @field_validator("plugins")
    @classmethod
    def _one_detector(cls, v: list[PluginConfig]) -> list[PluginConfig]:
        if sum(isinstance(p, YoloPluginConfig) for p in v) > 1:
            raise ValueError("at most one yolo plugin (its person boxes feed the fall cue)")
        return v


#: Default zero-shot prompt sets per event type (positive prompts describe the event, negative
#: prompts the look-alikes it must not be confused with).
CLIP_DEFAULT_PROMPTS: dict[str, dict[str, list[str]]] = {
    ev.name: {"positive": list(ev.positive_prompts), "negative": list(ev.negative_prompts)}
    for ev in CATALOGUE.values()
    if ev.positive_prompts
}

#: Prompts describing ordinary scenes; they join every event's prompt set as negatives.
CLIP_DEFAULT_NORMAL_PROMPTS: list[str] = [
    "a photo of a normal scene",
    "a photo of a quiet office",
    "a photo of a warehouse",
    "a photo of a corridor",
    "a photo of a street",
]


class ClipPromptSet(BaseModel):
    """Prompts of one event type for the zero-shot head."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    positive: list[str] = Field(
        ..., min_length=1, max_length=32, description="Prompts that describe the event."
    )
    negative: list[str] = Field(
        default_factory=list,
        max_length=32,
        description="Prompts for look-alikes of the event (added to the normal-scene prompts).",
    )

    @field_validator("positive", "negative")
    @classmethod
    def _non_empty_prompts(cls, v: list[str]) -> list[str]:
        for p in v:
            if not p.strip():
                raise ValueError("prompts must not be empty strings")
            if len(p) > 300:
                raise ValueError(f"prompt is longer than 300 characters: {p[:40]!r}...")
        return v


def _default_prompt_sets() -> dict[str, ClipPromptSet]:
    return {k: ClipPromptSet.model_validate(v) for k, v in CLIP_DEFAULT_PROMPTS.items()}


class ClipZeroShotConfig(BaseModel):
    """Zero-shot heads: per-frame softmax over prompt sets, per-camera baseline, window mean."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompts: dict[str, ClipPromptSet] = Field(
        default_factory=_default_prompt_sets,
        description="Per event type (fall, fire, smoke, intrusion) its positive and negative "
        "prompts; the event types listed here are the ones the clip scorer reports.",
    )
    normal: list[str] = Field(
        default_factory=lambda: list(CLIP_DEFAULT_NORMAL_PROMPTS),
        max_length=64,
        description="Prompts of ordinary scenes, negatives in every event's prompt set.",
    )
    logit_scale: float | None = Field(
        None,
        gt=0.0,
        le=1000.0,
        description="Softmax temperature multiplier on cosine similarity; null = the model's own.",
    )
    baseline_rise_s: float = Field(
        300.0,
        ge=1.0,
        le=86400.0,
        description="Time constant with which a camera's baseline rises toward a higher "
        "per-frame probability (slow: a real event is not absorbed at once).",
    )
    baseline_fall_s: float = Field(
        30.0,
        ge=1.0,
        le=86400.0,
        description="Time constant with which a camera's baseline falls to a lower probability.",
    )
    half_life_s: float = Field(
        2.0,
        gt=0.0,
        le=600.0,
        description="Window aggregation: a frame this much older than the newest counts half.",
    )

    @field_validator("prompts")
    @classmethod
    def _known_events(cls, v: dict[str, ClipPromptSet]) -> dict[str, ClipPromptSet]:
        from engines.types import EVENT_TYPES

        unknown = sorted(set(v) - set(EVENT_TYPES))
        if unknown:
            raise ValueError(
                f"unknown event type(s) {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}"
            )
        if not v:
            raise ValueError("at least one event type needs prompts")
        return v


class ClipTemporalConfig(BaseModel):
    """The temporal encoder over a window's frame embeddings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_frames: int = Field(
        16, ge=2, le=256, description="Frame slots; older frames of a longer window are dropped."
    )
    layers: int = Field(2, ge=1, le=12, description="Transformer layers.")
    heads: int = Field(4, ge=1, le=16, description="Attention heads per layer.")
    width: int = Field(128, ge=16, le=1024, description="Model width (divisible by heads).")
    weights: str | None = Field(
        None,
        description="File of trained temporal-encoder weights (from `vigil train`); its own "
        "layers/heads/width/window_frames win over the ones above.",
    )

    @model_validator(mode="after")
    def _width_divisible(self) -> Self:
        if self.width % self.heads:
            raise ValueError(f"width {self.width} is not divisible by heads {self.heads}")
        return self


class ClipMotionGateConfig(BaseModel):
    """Skips the visual encoder for frames that barely differ from the last encoded one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="Reuse the last embedding for static frames.")
    threshold: float = Field(
        0.002,
        ge=0.0,
        le=1.0,
        description="A frame is static when less than this fraction of its grey thumbnail's "
        "pixels differ by more than pixel_delta from the last encoded frame.",
    )
    pixel_delta: int = Field(
        12, ge=1, le=255, description="Grey-level change (0-255) that counts a pixel as changed."
    )
    max_skip_s: float = Field(
        10.0, ge=0.0, le=3600.0, description="Encode at least this often even if static."
    )
    side_px: int = Field(
        64, ge=16, le=512, description="Longest side of the grey thumbnail compared."
    )


class ClipBatchConfig(BaseModel):
    """The cross-camera batcher in front of the visual encoder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_batch: int = Field(32, ge=1, le=1024, description="Run a batch at this many frames.")
    max_wait_ms: float = Field(
        5.0, ge=0.0, le=1000.0, description="...or this long after its first frame arrived."
    )
    queue_size: int = Field(
        256, ge=1, le=100000, description="Frames waiting at most; the oldest are dropped."
    )


class ClipTensorRTConfig(BaseModel):
    """TensorRT engine build settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_batch: int = Field(1, ge=1, le=1024, description="Optimisation profile: smallest batch.")
    opt_batch: int = Field(8, ge=1, le=1024, description="Optimisation profile: tuned batch.")
    max_batch: int = Field(
        32,
        ge=1,
        le=1024,
        description="Optimisation profile: largest batch (bigger ones are split).",
    )
    workspace_mb: int = Field(
        1024, ge=64, le=65536, description="Builder workspace memory limit in MiB."
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.min_batch <= self.opt_batch <= self.max_batch:
            raise ValueError(
                f"need min_batch <= opt_batch <= max_batch, got "
                f"{self.min_batch}, {self.opt_batch}, {self.max_batch}"
            )
        return self


class ClipConfig(BaseModel):
    """The neural CLIP/SigLIP profile."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    visual: str = Field(
        "openai/clip-vit-base-patch32",
        min_length=1,
        description="Hub id or local folder of a CLIP/SigLIP model.",
    )
    local_files_only: bool = Field(
        True,
        description="True (default): never go to the network; the model comes from a folder "
        "or the local hub cache. False: a hub id missing from the cache is downloaded (or "
        "pass --download to vigil engines export/build once). HF_HUB_OFFLINE=1 forbids "
        "downloads whatever this says.",
    )
    backend: Literal["auto", "tensorrt", "onnxruntime", "torch"] = Field(
        "auto", description="auto picks tensorrt, then onnxruntime, then torch."
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="Where torch and ONNX Runtime run (auto: CUDA when present)."
    )
    precision: Literal["fp32", "int8"] = Field(
        "int8",
        description="ONNX Runtime on CPU: int8 (dynamic quantization, used only if its "
        "embeddings stay within int8_min_cosine of fp32, else fp32) or fp32.",
    )
    int8_min_cosine: float = Field(
        0.99, ge=0.0, le=1.0, description="Lowest embedding cosine to fp32 that int8 may have."
    )
    fp16: bool = Field(
        True, description="On GPUs: TensorRT FP16 where supported; torch fp16 autocast on CUDA."
    )
    threads: int = Field(
        0, ge=0, le=256, description="CPU threads for ONNX Runtime / torch (0: runtime default)."
    )
    resize: Literal["processor", "letterbox"] = Field(
        "processor",
        description="processor: resize/crop as the model's image processor does; letterbox: "
        "keep the whole frame, padded to the model's aspect.",
    )
    cache_dir: str = Field(
        "data/engines",
        min_length=1,
        description="Folder for exported ONNX graphs, int8 graphs and TensorRT plans.",
    )
    onnx_dir: str | None = Field(
        None,
        description="Use visual.onnx/temporal.onnx from this folder (from `vigil engines "
        "export`) instead of exporting into cache_dir.",
    )
    heads: Literal["auto", "zeroshot", "temporal"] = Field(
        "auto",
        description="zeroshot: prompt heads; temporal: trained temporal encoder "
        "(temporal.weights); auto: temporal when weights are set, else zeroshot.",
    )
    zeroshot: ClipZeroShotConfig = Field(default_factory=ClipZeroShotConfig)
    temporal: ClipTemporalConfig = Field(default_factory=ClipTemporalConfig)
    motion_gate: ClipMotionGateConfig = Field(default_factory=ClipMotionGateConfig)
    batch: ClipBatchConfig = Field(default_factory=ClipBatchConfig)
    tensorrt: ClipTensorRTConfig = Field(default_factory=ClipTensorRTConfig)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.heads == "temporal" and self.temporal.weights is None:
            raise ValueError("heads: temporal needs temporal.weights (a trained weights file)")
        return self

    @property
    def offline(self) -> bool:
        """True unless a download was asked for and ``HF_HUB_OFFLINE`` does not forbid it."""
        env = os.environ.get("HF_HUB_OFFLINE", "").strip().lower()
        return self.local_files_only or env in ("1", "true", "yes", "on")

    @property
    def uses_temporal_heads(self) -> bool:
        """Whether the trained temporal heads score (else the zero-shot prompt heads)."""
        return self.heads == "temporal" or (
            self.heads == "auto" and self.temporal.weights is not None
        )


class ModelConfig(BaseModel):
    """Which scorer runs and over how long a window."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: Literal["cues", "clip"] = Field(
        "cues",
        description="cues needs no weights and detects fall, fire, smoke and intrusion; clip is "
        "the neural profile and detects the event types of its heads (zeroshot.prompts by "
        "default).",
    )
    window_s: float = Field(8.0, ge=1.0, le=120.0, description="Seconds per sliding window.")
    cues: CuesConfig = Field(default_factory=CuesConfig)
    clip: ClipConfig = Field(default_factory=ClipConfig)

    def detectable_events(self) -> tuple[str, ...] | None:
        """Event types the chosen profile can detect, or None when only its weights know.

        ``cues`` detects :data:`CUES_EVENTS`; ``clip`` with zero-shot heads detects the event
        types that have prompts; with trained temporal heads the event types are stored with
        the weights, so they are known only once those are loaded (None here). Each profile's
        plugin in :data:`engines.profiles.SCORER_PROFILES` says it.
        """
        from engines.profiles import SCORER_PROFILES

        return SCORER_PROFILES.get(self.profile).factory.detects(self)
