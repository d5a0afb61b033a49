"""Configuration of the detector plugins (``model.cues.plugins``): ONNX models by path.

Each entry is a ``yolo`` person/object detector or an image ``classifier``; ``kind`` picks
which. A model file that does not exist is refused when the config is read, naming the path and
the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_COCO = (
    "person,bicycle,car,motorcycle,airplane,bus,train,truck,boat,traffic light,fire hydrant,"
    "stop sign,parking meter,bench,bird,cat,dog,horse,sheep,cow,elephant,bear,zebra,giraffe,"
    "backpack,umbrella,handbag,tie,suitcase,frisbee,skis,snowboard,sports ball,kite,"
    "baseball bat,baseball glove,skateboard,surfboard,tennis racket,bottle,wine glass,cup,fork,"
    "knife,spoon,bowl,banana,apple,sandwich,orange,broccoli,carrot,hot dog,pizza,donut,cake,"
    "chair,couch,potted plant,bed,dining table,toilet,tv,laptop,mouse,remote,keyboard,"
    "cell phone,microwave,oven,toaster,sink,refrigerator,book,clock,vase,scissors,teddy bear,"
    "hair drier,toothbrush"
)
#: The 80 COCO class names in the order Ultralytics' COCO-trained exports use.
COCO_CLASSES: tuple[str, ...] = tuple(_COCO.split(","))


def _existing_model(v: Path) -> Path:
    if not v.is_file():
        where = "is a folder, not an ONNX file" if v.is_dir() else "does not exist"
        raise ValueError(f"model file {v} {where} (model.cues.plugins[].path)")
    return v


def _unique(names: list[str], field: str) -> list[str]:
    if len(set(names)) != len(names):
        raise ValueError(f"{field} names a class twice: {names}")
    return names


class _PluginBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path = Field(description="The ONNX file (exported by you; Vigil ships no weights).")
    every_n: int = Field(
        1, ge=1, le=100, description="Run on every n-th gated sample; reuse the last result."
    )
    backend: Literal["auto", "onnxruntime", "tensorrt"] = Field(
        "auto", description="auto: tensorrt when it can run here, else onnxruntime."
    )
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="Where it runs.")
    threads: int = Field(1, ge=0, le=64, description="ONNX Runtime CPU threads (0: default).")
    cache_dir: str = Field(
        "data/engines/plugins", min_length=1, description="Folder for TensorRT plans."
    )

    @field_validator("path")
    @classmethod
    def _path_exists(cls, v: Path) -> Path:
        return _existing_model(v)


class YoloPluginConfig(_PluginBase):
    """A YOLO-layout detector (Ultralytics v5/v8/v11 ONNX export, letterboxed input)."""

    kind: Literal["yolo"] = "yolo"
    classes: list[str] = Field(
        default_factory=lambda: list(COCO_CLASSES),
        min_length=1,
        description="The model's class names in output order (default: the 80 COCO names).",
    )
    person_class: str = Field(
        "person", description="The class whose boxes feed the fall cue's tracks."
    )
    input_size: int = Field(640, ge=32, le=2048, description="Square letterbox input side.")
    preprocess: Literal["ultralytics", "yolox", "rtdetr"] = Field(
        "ultralytics",
        description="ultralytics: RGB/255, centred letterbox, pixel boxes (YOLOv5/v8/11); "
        "yolox: BGR 0-255, top-left letterbox (export with --decode_in_inference); rtdetr: "
        "RGB/255 stretched, boxes as fractions (Ultralytics RT-DETR export).",
    )
    conf: float = Field(0.35, gt=0, lt=1, description="Lowest box confidence kept.")
    iou: float = Field(0.45, gt=0, lt=1, description="Class-wise NMS overlap threshold.")
    crop_margin: float = Field(
        0.25, ge=0, le=2, description="Motion crop padding, as a fraction of its size."
    )

    @field_validator("classes")
    @classmethod
    def _classes_unique(cls, v: list[str]) -> list[str]:
        return _unique(v, "classes")

    @model_validator(mode="after")
    def _person_known(self) -> Self:
        if self.person_class not in self.classes:
            raise ValueError(
                f"person_class {self.person_class!r} is not one of classes ({len(self.classes)}"
                f" names: {', '.join(self.classes[:6])}{', ...' if len(self.classes) > 6 else ''})"
            )
        return self


class ClassifierPluginConfig(_PluginBase):
    """An image classifier that votes on one event (e.g. fire / no fire)."""

    kind: Literal["classifier"] = "classifier"
    labels: list[str] = Field(min_length=2, description="The output classes' names in order.")
    event: Literal["fall", "fire"] = Field(description="The cue event this classifier votes on.")
    positive: str | None = Field(
        None, description="The label that agrees with the event (default: the event's name)."
    )
    crop: Literal["region", "foreground", "frame"] = Field(
        "region",
        description="region: the cue's candidate region of the event; foreground: around the "
        "foreground blobs; frame: the whole frame. Runs only when that crop exists.",
    )
    input_size: int = Field(224, ge=16, le=2048, description="Square input side (resized).")
    mean: tuple[float, float, float] = Field(
        (0.0, 0.0, 0.0), description="Per-channel RGB mean subtracted from [0, 1] pixels."
    )
    std: tuple[float, float, float] = Field(
        (1.0, 1.0, 1.0), description="Per-channel RGB std the pixels are divided by (> 0)."
    )
    threshold: float = Field(0.5, gt=0, lt=1, description="Probability at which it agrees.")
    cap: float = Field(
        0.5, ge=0, le=1, description="The event's score ceiling while the classifier disagrees."
    )
    crop_margin: float = Field(0.5, ge=0, le=2, description="Crop padding (fraction of size).")

    @field_validator("labels")
    @classmethod
    def _labels_unique(cls, v: list[str]) -> list[str]:
        return _unique(v, "labels")

    @field_validator("std")
    @classmethod
    def _std_positive(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        if min(v) <= 0:
            raise ValueError(f"std values must be > 0, got {list(v)}")
        return v

    @model_validator(mode="after")
    def _positive_known(self) -> Self:
        if self.positive_label not in self.labels:
            raise ValueError(
                f"positive label {self.positive_label!r} is not one of labels {self.labels} "
                "(set positive: to the label that means the event)"
            )
        return self

    @property
    def positive_label(self) -> str:
        """The label whose probability is the vote."""
        return self.positive or self.event


PluginConfig = Annotated[YoloPluginConfig | ClassifierPluginConfig, Field(discriminator="kind")]
