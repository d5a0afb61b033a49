"""Fixtures of the engines tests: tiny CLIP/SigLIP models saved with save_pretrained."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from engines_helpers import save_tiny_clip, save_tiny_siglip

from engines.settings import ClipConfig


@pytest.fixture(scope="session")
def tiny_clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight CLIP model folder (config, weights, tokenizer, image processor)."""
    return save_tiny_clip(tmp_path_factory.mktemp("models") / "tiny-clip")


@pytest.fixture(scope="session")
def tiny_siglip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight SigLIP model folder."""
    return save_tiny_siglip(tmp_path_factory.mktemp("models") / "tiny-siglip")


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An engine cache shared by tests that only read exported graphs."""
    return tmp_path_factory.mktemp("engine-cache")


@pytest.fixture
def clip_cfg(tiny_clip_dir: Path, shared_cache: Path) -> Callable[..., ClipConfig]:
    """Build a ClipConfig for the tiny CLIP (keyword overrides of the clip section)."""

    def make(**over: Any) -> ClipConfig:
        data: dict[str, Any] = {
            "visual": str(tiny_clip_dir),
            "local_files_only": True,
            "cache_dir": str(shared_cache),
            "threads": 1,
        }
        data.update(over)
        return ClipConfig.model_validate(data)

    return make
