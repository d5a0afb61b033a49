"""The generated evaluation suite of ``vigil eval``: positives of every event type the ``cues``
profile detects and the hard negatives, made by several different generators.

Built once per generator source (the cache key hashes this file and every ``vigil/scene*.py``),
one clip per core at a time, under
``.cache/test-media/suite-<key>/``; a folder is complete once its ``.done`` file exists.

* ``events/``: falls and fires among ordinary activity (``vigil/scene.py`` demo), flames of
  other kinds and fire-coloured non-fires (``vigil/scene_fire.py``), smoke and smoke
  look-alikes (``vigil/scene_smoke.py``), walking, and every hard negative of
  ``vigil/scene_hard.py`` (camera pan/zoom/shake, exposure, headlights, frame edges, sitting,
  lying down on a bench, orange objects, reflections, flashing lights);
* ``intrusion/``: people entering a zone and staying, and a passer-by, with
  ``configs/examples/intrusion-zone.yaml`` (the zone restricts intrusion).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from vigil.scene_truth import truth_path

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("VIGIL_TEST_CACHE", REPO / ".cache" / "test-media"))
#: The config the events folder is evaluated with: a camera detecting fall, fire and smoke.
EVENTS_CONFIG = """\
model:
  profile: cues
cameras:
  - id: suite
    url: suite.mp4
    fps: 2
    events:
      fall: {}
      fire: {}
      smoke: {}
"""
INTRUSION_CONFIG = REPO / "configs" / "examples" / "intrusion-zone.yaml"

#: How to write a clip: (module, function, keyword arguments); picklable for the pool.
Maker = tuple[str, str, dict[str, Any]]


def _key() -> str:
    h = hashlib.sha256(Path(__file__).read_bytes())  # the clip list and their settings
    for path in sorted((REPO / "vigil").glob("scene*.py")):
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def _call(module: str, func: str, **kwargs: Any) -> Maker:
    return (module, func, kwargs)


def _events_clips() -> dict[str, Maker]:
    """Every clip of the events folder and how to write it."""
    from vigil.scene_hard import HARD_SCENARIOS

    clips: dict[str, Maker] = {
        "demo-0": _call("vigil.scene", "generate_scene", seed=0, duration_s=45.0),
        "demo-2": _call("vigil.scene", "generate_scene", seed=2, duration_s=40.0),
        "walking-1": _call("vigil.scene", "generate_scene", scenario="walking", seed=1,
                           duration_s=20.0),
        "smoke-0": _call("vigil.scene_smoke", "generate_smoke_scene", seed=0),
        "smoke-1-640": _call("vigil.scene_smoke", "generate_smoke_scene", seed=1, width=640,
                             height=480),
        "smoke-negatives-0": _call("vigil.scene_smoke", "generate_smoke_scene",
                                   scenario="smoke_negatives", seed=0),
    }  # fmt: skip
    for name in HARD_SCENARIOS:
        clips[f"hard-{name}"] = _call(
            "vigil.scene_hard", "generate_hard_scene", scenario=name, seed=0, duration_s=15.0
        )
    clips.update(_fire_clips())
    return clips


def _fire_clips() -> dict[str, Maker]:
    """Flames of other kinds and fire-coloured non-fires (``vigil/scene_fire.py``)."""
    from vigil.scene_fire import FIRE_SCENARIOS

    return {
        f"fire-{name}": _call("vigil.scene_fire", "generate_fire_scene", style=name, seed=0)
        for name in FIRE_SCENARIOS
    }


def _intrusion_clips() -> dict[str, Maker]:
    return {
        "intrusion-0": _call("vigil.scene_smoke", "generate_smoke_scene", scenario="intrusion",
                             seed=0),
        "intrusion-1-640": _call("vigil.scene_smoke", "generate_smoke_scene",
                                 scenario="intrusion", seed=1, width=640, height=480),
    }  # fmt: skip


def _write(clip: Path, make: Maker) -> None:
    """Write one clip and its truth under a hidden name, then move both in place."""
    tmp = clip.parent / f".tmp-{os.getpid()}-{clip.name}"
    module, func, kwargs = make
    getattr(importlib.import_module(module), func)(tmp, **kwargs)
    shutil.move(truth_path(tmp), truth_path(clip))
    shutil.move(tmp, clip)


def _folder(name: str, clips: dict[str, Maker]) -> Path:
    folder = CACHE / f"suite-{_key()}" / name
    if (folder / ".done").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    todo = [
        (folder / f"{n}.mp4", make)
        for n, make in clips.items()
        if not ((folder / f"{n}.mp4").exists() and truth_path(folder / f"{n}.mp4").exists())
    ]
    # one clip per core at once (the encoders are single-threaded numpy and libx264 work)
    with ProcessPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        for done in [pool.submit(_write, clip, make) for clip, make in todo]:
            done.result()
    (folder / ".done").write_text("\n".join(sorted(clips)) + "\n", encoding="utf-8")
    return folder


def events_folder() -> Path:
    """The events folder (positives of fall, fire and smoke, and the hard negatives)."""
    return _folder("events", _events_clips())


def intrusion_folder() -> Path:
    """The intrusion folder (evaluated with ``INTRUSION_CONFIG``, camera ``dock``)."""
    return _folder("intrusion", _intrusion_clips())
