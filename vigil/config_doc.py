"""Renders the documented default config (``configs/default.yaml``) from the config models.

Every option appears with its description, bounds and default, so the file cannot drift from
the code (a test compares them). Lists and optional sections show a commented example.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

HEADER = """\
# Vigil configuration: every option with its default.
# Generated from the config models by `vigil config default`; edit the models, not this file.
# Unknown keys are errors. Strings may use ${ENV_VAR} or ${ENV_VAR:-default} (keep secrets out
# of this file). Check a file with `vigil config check FILE`.
"""

#: Example values for required fields and for sections that are empty by default.
EXAMPLES: dict[str, Any] = {
    "cameras": [
        {
            "id": "dock-1",
            "name": "Loading dock 1",
            "location": "north wall, facing the gate",
            "url": "rtsp://viewer:${DOCK1_PASSWORD}@10.0.0.5/stream1",
            "fps": 2,
            "events": {"fall": {"threshold": 0.6}, "fire": {}},
            "zones": [
                {
                    "name": "restricted",
                    "polygon": [[0.1, 0.1], [0.5, 0.1], [0.5, 0.9], [0.1, 0.9]],
                    "events": ["fall"],
                }
            ],
        }
    ],
    "bus.kafka": {"bootstrap_servers": "localhost:9092", "topic_prefix": "vigil"},
}


def _bounds(info: FieldInfo) -> str:
    parts = []
    for m in info.metadata:
        if isinstance(m, Ge):
            parts.append(f">= {m.ge}")
        elif isinstance(m, Gt):
            parts.append(f"> {m.gt}")
        elif isinstance(m, Le):
            parts.append(f"<= {m.le}")
        elif isinstance(m, Lt):
            parts.append(f"< {m.lt}")
        elif isinstance(m, MinLen):
            parts.append(f"min length {m.min_length}")
        elif isinstance(m, MaxLen):
            parts.append(f"max length {m.max_length}")
    return ", ".join(parts)


def _choices(annotation: Any) -> str:
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Literal:
        return " | ".join(str(a) for a in args)
    lits = [a for a in args if typing.get_origin(a) is typing.Literal]
    if lits:
        return " | ".join(str(x) for a in lits for x in typing.get_args(a))
    return ""


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for a in typing.get_args(annotation):
            if isinstance(a, type) and issubclass(a, BaseModel):
                return a
    return None


def _scalar(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False)


def _yaml_lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            if isinstance(v, dict | list) and v:
                out.append(f"{pad}{k}:")
                out.extend(_yaml_lines(v, indent + 2))
            else:
                out.append(f"{pad}{k}: {_scalar(v) if not isinstance(v, dict) else '{}'}")
        return out
    if isinstance(value, list):
        out = []
        for item in value:
            if isinstance(item, dict):
                sub = _yaml_lines(item, indent + 2)
                sub[0] = f"{pad}- {sub[0].lstrip()}"
                out.extend(sub)
            else:
                out.append(f"{pad}- {_scalar(item)}")
        return out
    return [f"{pad}{_scalar(value)}"]


def render_model(model: type[BaseModel], indent: int = 0, path: str = "") -> list[str]:
    """YAML lines (with comments) for every field of ``model``."""
    pad = " " * indent
    lines: list[str] = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        full = f"{path}.{key}" if path else key
        desc = info.description or ""
        extra = [x for x in (_choices(info.annotation), _bounds(info)) if x]
        comment = desc + (f" [{'; '.join(extra)}]" if extra else "")
        if comment:
            lines.append(f"{pad}# {comment}")
        sub = _model_of(info.annotation)
        default = info.get_default(call_default_factory=True)
        if sub is not None and default is not None:
            lines.append(f"{pad}{key}:")
            lines.extend(render_model(sub, indent + 2, full))
            continue
        if full in EXAMPLES or (info.default is PydanticUndefined and name in EXAMPLES):
            example = EXAMPLES.get(full)
            lines.append(f"{pad}{key}: {_scalar(default) if default is not None else 'null'}")
            lines.append(f"{pad}# example:")
            body = _yaml_lines({key: example}, indent)
            lines.extend(
                f"{pad}# {line[indent:]}" if line.startswith(pad) else f"# {line}" for line in body
            )
            if sub is not None:
                lines.append(f"{pad}# every option of {key}:")
                lines.extend(
                    f"{pad}# {line[indent:]}" for line in render_model(sub, indent + 2, full)
                )
            continue
        if default is PydanticUndefined or info.is_required():
            lines.append(f"{pad}# {key}: (required)")
            continue
        if isinstance(default, BaseModel):
            default = default.model_dump(mode="json", by_alias=True)
        if isinstance(default, dict | list) and default:
            if isinstance(default, dict) and all(
                isinstance(v, BaseModel) for v in default.values()
            ):
                default = {
                    k: v.model_dump(mode="json", exclude_defaults=True) for k, v in default.items()
                }
            lines.append(f"{pad}{key}:")
            lines.extend(_yaml_lines(default, indent + 2))
        else:
            if isinstance(default, dict):
                lines.append(f"{pad}{key}: {{}}")
            elif isinstance(default, list):
                lines.append(f"{pad}{key}: []")
            else:
                lines.append(f"{pad}{key}: {_scalar(default)}")
    return lines


def render_default_config() -> str:
    """The documented default config as YAML text."""
    from detectors.settings import EVENT_DEFAULTS, EventConfig, ZoneConfig
    from vigil.config import CameraConfig, VigilConfig

    lines = [HEADER.rstrip("\n"), ""]
    lines.extend(render_model(VigilConfig))
    sections: list[tuple[str, type[BaseModel]]] = [
        ("a camera (cameras[])", CameraConfig),
        ("an event rule (cameras[].events.<fall|fire|smoke|intrusion>)", EventConfig),
        ("a zone (cameras[].zones[])", ZoneConfig),
    ]
    for title, model in sections:
        lines.append("")
        lines.append(f"# Every option of {title}:")
        lines.extend(f"#   {line}" for line in render_model(model))
    lines.append("")
    lines.append("# Per-event defaults for threshold, min_duration_s and cooldown_s:")
    for ev, d in EVENT_DEFAULTS.items():
        lines.append(f"#   {ev}: " + ", ".join(f"{k} {v}" for k, v in d.items()))
    return "\n".join(lines) + "\n"
