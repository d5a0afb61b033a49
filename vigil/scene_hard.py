"""Hard negative generated scenes: camera motion, exposure, lights, edges, sitting, lying.

Each scenario is a clip in which nothing is a fall or a fire, made to look like what fools
motion- and colour-based detectors on real footage: a moving or shaking camera, auto-exposure
steps, night headlights, people cut by the frame border, people sitting and lying down on a
bench slowly, red and orange moving things, reflections and caustics, flashing lamps. Drawn
in a different style from ``vigil.scene`` (a separate check), encoded like it (H.264,
yuv420p, sensor noise), with a ``OUT.truth.json`` whose event list is empty.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from vigil.scene_camera import ClipWriter
from vigil.scene_hard_lights import flashing, headlights, reflections
from vigil.scene_hard_scenes import SCENES, Builder
from vigil.scene_truth import SceneTruth, truth_path

log = logging.getLogger(__name__)

_BUILDERS: dict[str, Builder] = {
    **SCENES,
    "headlights": headlights,
    "reflections": reflections,
    "flashing": flashing,
}
HARD_SCENARIOS: tuple[str, ...] = (
    "pan",
    "zoom",
    "shake",
    "exposure",
    "headlights",
    "edges",
    "sit",
    "bench",
    "orange",
    "reflections",
    "flashing",
)


def generate_hard_scene(
    out: str | Path,
    *,
    scenario: str,
    seed: int = 0,
    duration_s: float = 20.0,
    fps: int = 10,
    width: int = 640,
    height: int = 480,
    progress: Callable[[int, int], None] | None = None,
) -> SceneTruth:
    """Write the hard negative ``scenario`` as H.264 to ``out`` and its truth (no events) to
    ``OUT.truth.json``; the same seed gives the same clip."""
    if scenario not in HARD_SCENARIOS:
        raise ValueError(
            f"unknown scenario {scenario!r}; choose one of {', '.join(HARD_SCENARIOS)}"
        )
    if duration_s < 2 or fps < 1 or width < 64 or height < 48:
        raise ValueError("a hard scene needs at least 2 s, 1 fps and 64x48 px")
    out = Path(out)
    if not out.parent.is_dir():
        raise FileNotFoundError(f"folder {str(out.parent)!r} does not exist")
    width, height = width // 2 * 2, height // 2 * 2  # yuv420p wants even sizes
    rng = np.random.default_rng([seed, HARD_SCENARIOS.index(scenario)])
    stage = _BUILDERS[scenario](rng, width, height, duration_s, fps)
    writer = ClipWriter(out, fps, width, height, seed)
    n = round(duration_s * fps)
    try:
        for i in range(n):
            if progress is not None:
                progress(i, n)
            writer.write(stage.frame(i / fps, i, width, height), stage.noise)
    finally:
        writer.close()
    truth = SceneTruth(scenario, seed, duration_s, fps, width, height, [])
    truth_path(out).write_text(truth.to_json(), encoding="utf-8")
    log.debug("wrote hard scene %s (%s, %d frames)", out, scenario, n)
    return truth


def write_negative_set(
    folder: str | Path,
    *,
    fps: int = 10,
    duration_s: float = 20.0,
    seed: int = 0,
    width: int = 640,
    height: int = 480,
    scenarios: tuple[str, ...] = HARD_SCENARIOS,
) -> list[Path]:
    """Write one clip per hard scenario (``<scenario>.mp4`` and its truth) into ``folder``,
    creating it; the paths of the clips, in scenario order (``vigil eval FOLDER`` reads them)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    clips: list[Path] = []
    for name in scenarios:
        clip = folder / f"{name}.mp4"
        generate_hard_scene(
            clip,
            scenario=name,
            seed=seed,
            duration_s=duration_s,
            fps=fps,
            width=width,
            height=height,
        )
        clips.append(clip)
    return clips
