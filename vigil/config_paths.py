"""Relative paths in a config file are relative to the file's folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _is_relative_path(value: Any) -> bool:
    return (
        isinstance(value, str)
        and bool(value.strip())
        and not (value.startswith(("/", "~")) or "://" in value or value.startswith("file:"))
    )


def _joined(base: Path, relative: str) -> str:
    """``relative`` (a path in the config file) under ``base``, the config file's folder."""
    return str(base / relative)


def _resolve_paths(
    data: dict[str, Any], base: Path
) -> tuple[dict[str, Any], list[tuple[tuple[Any, ...], str]]]:
    """Make the config's relative paths (given or default) relative to ``base``, the config
    file's folder; return the data and the problems found (a local model folder missing)."""
    from engines.settings import ClipConfig
    from storage.settings import StorageConfig

    problems: list[tuple[tuple[Any, ...], str]] = []

    def section(parent: dict[str, Any], key: str) -> dict[str, Any] | None:
        value = parent.setdefault(key, {})
        return value if isinstance(value, dict) else None

    def fix(parent: dict[str, Any] | None, key: str, default: str | None = None) -> None:
        if parent is None:
            return
        value = parent.get(key, default)
        if isinstance(value, str) and _is_relative_path(value):
            parent[key] = _joined(base, value)

    storage = section(data, "storage")
    if storage is not None:
        url = storage.get("database_url", StorageConfig.model_fields["database_url"].default)
        if isinstance(url, str) and url.startswith("sqlite:///"):
            db = url.removeprefix("sqlite:///")
            if _is_relative_path(db) and not db.startswith(":memory:"):
                storage["database_url"] = f"sqlite:///{_joined(base, db)}"
        fix(storage, "media_dir", StorageConfig.model_fields["media_dir"].default)
        fix(storage, "journal_dir")
        if not storage.get("journal_dir") and not str(storage.get("database_url", "")).startswith(
            "sqlite:///"
        ):
            storage["journal_dir"] = str(base / "data" / "journal")
    cameras = data.get("cameras")
    if isinstance(cameras, list):
        for cam in cameras:
            if isinstance(cam, dict) and not str(cam.get("url", "")).startswith("/dev/"):
                fix(cam, "url")
    model = section(data, "model")
    clip = section(model, "clip") if model is not None else None
    if clip is not None:
        fix(clip, "cache_dir", ClipConfig.model_fields["cache_dir"].default)
        fix(clip, "onnx_dir")
        temporal = clip.get("temporal")
        if isinstance(temporal, dict):
            fix(temporal, "weights")
        visual = clip.get("visual")
        if isinstance(visual, str) and _is_relative_path(visual):
            local = base / visual
            if local.exists():
                clip["visual"] = str(local)
            elif visual.startswith("."):
                problems.append(
                    (("model", "clip", "visual"), f"local model folder {str(local)!r} not found")
                )
    reports = data.get("reports")
    if isinstance(reports, dict) and isinstance(reports.get("transformers"), dict):
        fix(reports["transformers"], "model")
    return data, problems
