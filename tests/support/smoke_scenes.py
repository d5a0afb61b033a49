"""Generated smoke and intrusion scenes for tests, cached on disk by the generators' source."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import av

from engines.cues import CueScorer
from engines.types import Scores
from streamer.types import Frame, Window
from vigil.scene_smoke import generate_smoke_scene
from vigil.scene_truth import truth_path

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("VIGIL_TEST_CACHE", REPO / ".cache" / "test-media"))


def _key() -> str:
    src = b"".join((REPO / "vigil" / n).read_bytes() for n in ("scene.py", "scene_smoke.py"))
    return hashlib.sha256(src).hexdigest()[:12]


def smoke_scene(
    scenario: str, seed: int = 0, duration_s: float = 30.0, width: int = 320, height: int = 240
) -> Path:
    """A generated smoke, smoke-negatives or intrusion clip (its truth beside it), cached."""
    d = CACHE / f"smoke-{_key()}"
    d.mkdir(parents=True, exist_ok=True)
    clip = d / f"{scenario}-{seed}-{int(duration_s)}-{width}.mp4"
    if not clip.exists() or not truth_path(clip).exists():
        tmp = d / f".tmp-{os.getpid()}-{clip.name}"
        generate_smoke_scene(
            tmp, scenario=scenario, seed=seed, duration_s=duration_s, width=width, height=height
        )
        shutil.move(truth_path(tmp), truth_path(clip))
        shutil.move(tmp, clip)
    return clip


def scores_of(clip: Path, fps: float = 2.0) -> list[Scores]:
    """The cue scorer's scores of every frame of a clip sampled at ``fps``."""
    scorer = CueScorer()
    out: list[Scores] = []
    nxt = 0.0
    with av.open(str(clip)) as c:
        for fr in c.decode(video=0):
            t = float(fr.pts * fr.time_base)
            if t + 1e-6 < nxt:
                continue
            nxt += 1.0 / fps
            f = Frame("cam", len(out), t, 1000 + t, fr.to_ndarray(format="bgr24"))
            out.extend(scorer.score_batch([f], [Window("cam", (f,), 8)]))
    return out
