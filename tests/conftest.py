"""Shared fixtures: generated scenes (cached by generator source hash), config helpers."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("VIGIL_TEST_CACHE", REPO / ".cache" / "test-media"))


def _scene_key() -> str:
    src = (REPO / "vigil" / "scene.py").read_bytes()
    return hashlib.sha256(src).hexdigest()[:12]


@pytest.fixture(scope="session")
def scene_clip() -> Callable[..., Path]:
    """Return a generated scene (``scenario``, ``seed``), generated once and cached on disk.

    The cache key includes the generator's source, so a changed generator regenerates.
    """
    from vigil.scene import generate_scene, truth_path

    def get(scenario: str = "demo", seed: int = 0, duration_s: float = 60.0) -> Path:
        d = CACHE / _scene_key()
        d.mkdir(parents=True, exist_ok=True)
        clip = d / f"{scenario}-{seed}-{int(duration_s)}.mp4"
        if not clip.exists() or not truth_path(clip).exists():
            tmp = d / f".tmp-{os.getpid()}-{clip.name}"
            generate_scene(tmp, seed=seed, scenario=scenario, duration_s=duration_s)
            shutil.move(truth_path(tmp), truth_path(clip))
            shutil.move(tmp, clip)
        return clip

    return get
