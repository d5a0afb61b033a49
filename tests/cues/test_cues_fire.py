"""The fire cue on flames drawn differently from the demo's, and on fire-coloured non-fires.

Each clip (``vigil.scene_fire``, 20 s at 320x240) is generated once per generator version and
run through the evaluation runner (the full App, as ``vigil eval --fps N``) at 1, 2 and 5 fps.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest

from detectors.settings import EventConfig
from engines.cues import CueScorer
from streamer.types import Frame, Window
from vigil.config import parse_config
from vigil.evaluation.matching import match_clip
from vigil.evaluation.runner import RunSettings, run_clip
from vigil.evaluation.types import ClipResult, LabelledClip, TruthSpan
from vigil.scene_fire import (
    FIRE_SCENARIOS,
    FIRE_STYLES,
    NON_FIRE_STYLES,
    generate_fire_scene,
)
from vigil.scene_truth import load_truth

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("VIGIL_TEST_CACHE", REPO / ".cache" / "test-media"))
DURATION_S = 20.0
FPS_RATES = (1.0, 2.0, 5.0)
#: the rule's threshold less its hysteresis: below this an open incident starts closing
OFF = EventConfig().resolved("fire").off_threshold


@pytest.fixture(scope="session")
def fire_clip() -> Callable[[str], Path]:
    """A generated fire scene of a style (cached on disk by the generator's source hash)."""
    key = hashlib.sha256((REPO / "vigil" / "scene_fire.py").read_bytes()).hexdigest()[:12]
    folder = CACHE / f"fire-{key}"
    folder.mkdir(parents=True, exist_ok=True)

    def get(style: str) -> Path:
        clip = folder / f"{style}.mp4"
        truth = clip.with_name(clip.stem + ".truth.json")
        if not clip.exists() or not truth.exists():
            tmp = folder / f".tmp-{os.getpid()}-{style}.mp4"
            generate_fire_scene(tmp, style=style, duration_s=DURATION_S, width=320, height=240)
            shutil.move(tmp.with_name(tmp.stem + ".truth.json"), truth)
            shutil.move(tmp, clip)
        return clip

    return get


def _run(clip: Path, fps: float) -> ClipResult:
    truth = load_truth(clip)
    spans = tuple(TruthSpan(e.event_type, e.start_s, e.end_s) for e in truth.events)
    cfg = parse_config("model:\n  profile: cues\n", env={})
    res = run_clip(
        LabelledClip(clip, clip.stem, spans), RunSettings(cfg, {"fire": EventConfig()}, fps=fps)
    )
    assert res.error is None
    return res


@pytest.mark.parametrize("fps", FPS_RATES)
@pytest.mark.parametrize("style", FIRE_STYLES)
def test_each_flame_style_is_found_and_stays_one_incident(
    fire_clip: Callable[[str], Path], style: str, fps: float
) -> None:
    res = _run(fire_clip(style), fps)
    fires = [i for i in res.incidents if i.event_type == "fire"]
    assert len(fires) == 1, fires
    m = match_clip(res.clip.events, res.incidents, "fire", clip_end_s=res.duration_s)
    assert len(m.matches) == 1 and not m.false_positives
    assert m.matches[0].latency_s is not None and m.matches[0].latency_s <= 3.0
    assert m.coverage[0] >= 0.8


@pytest.mark.parametrize("fps", FPS_RATES)
@pytest.mark.parametrize("style", NON_FIRE_STYLES)
def test_fire_coloured_non_fires_raise_no_fire(
    fire_clip: Callable[[str], Path], style: str, fps: float
) -> None:
    res = _run(fire_clip(style), fps)
    assert [i for i in res.incidents if i.event_type == "fire"] == []
    assert max(s for _, s in res.scores["fire"]) < OFF


def _frames(clip: Path, fps: float) -> list[tuple[float, np.ndarray]]:
    out: list[tuple[float, np.ndarray]] = []
    with av.open(str(clip)) as container:
        for f in container.decode(video=0):
            t = float(f.pts * f.time_base)
            if t + 1e-6 >= len(out) / fps:
                out.append((t, f.to_ndarray(format="bgr24")))
    return out


@pytest.mark.parametrize("fps", FPS_RATES)
def test_a_fire_that_goes_out_ends_within_seconds(
    fire_clip: Callable[[str], Path], fps: float
) -> None:
    """The cone burns from 4 s; at 12 s the scene returns to its pre-ignition look."""
    frames = _frames(fire_clip("cone"), fps)
    before = frames[0][1]
    rng = np.random.default_rng(0)
    scorer = CueScorer()
    scores: list[tuple[float, float]] = []
    for i, (t, img) in enumerate(frames):
        if t >= 12.0:
            noise = rng.normal(0, 2, before.shape)
            img = np.clip(before + noise, 0, 255).astype(np.uint8)
        frame = Frame("cam", i, t, 1000 + t, img)
        (s,) = scorer.score_batch([frame], [Window("cam", (frame,), 8.0)])
        scores.append((t, s.events["fire"]))
    burning = [s for t, s in scores if 8.0 <= t < 12.0]
    assert min(burning) >= OFF  # held while it burns
    assert max(s for t, s in scores if t >= 15.0) < OFF  # gone 3 s after it went out


def test_scene_truth_and_unknown_style(tmp_path: Path) -> None:
    assert set(FIRE_SCENARIOS) == set(FIRE_STYLES) | set(NON_FIRE_STYLES)
    fire = generate_fire_scene(
        tmp_path / "a.mp4", style="smoky", duration_s=8.0, width=160, height=120
    )
    # the smoky fire's grey plume is smoke too, from SMOKE_AFTER_S (4.5 s) after ignition
    spans = [(e.event_type, e.start_s, e.end_s) for e in fire.events]
    assert spans == [("fire", 3.0, 8.0), ("smoke", 7.5, 8.0)]
    assert load_truth(tmp_path / "a.mp4") == fire
    calm = generate_fire_scene(
        tmp_path / "b.mp4", style="beacon", duration_s=8.0, width=160, height=120
    )
    assert calm.events == []
    with pytest.raises(ValueError, match="unknown style"):
        generate_fire_scene(tmp_path / "c.mp4", style="candle")


def test_flame_colour_rules_hold_for_many_flames_and_not_for_look_alikes() -> None:
    from engines.cues.fire_colour import flame_masks

    flames = [(0, 130, 255), (60, 220, 255), (0, 70, 190), (20, 90, 230), (40, 40, 255)]
    cores = [(225, 250, 255), (170, 240, 255)]
    others = [(80, 110, 160), (110, 116, 120), (200, 80, 30), (235, 235, 235), (60, 60, 80)]
    patches = flames + cores + others
    # small patches on a wide grey scene (flame red must stand out of the frame's mean red)
    img = np.full((120, 20 * len(patches), 3), 90, np.uint8)
    for k, bgr in enumerate(patches):
        img[:20, 20 * k : 20 * k + 20] = bgr
    colour, core = flame_masks(img)
    got = [
        (bool(colour[10, 20 * k + 10]), bool(core[10, 20 * k + 10])) for k in range(len(patches))
    ]
    assert [c for c, _ in got[: len(flames)]] == [True] * len(flames)
    assert [c for _, c in got[len(flames) : len(flames) + len(cores)]] == [True] * len(cores)
    assert got[len(flames) + len(cores) :] == [(False, False)] * len(others)
