"""The hard negative generated scenes: decodable clips, empty truth, determinism, and what each
scenario is about (camera motion, exposure steps, night light, border crossings, ...)."""

from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from vigil.scene_draw import keyed, skeleton
from vigil.scene_hard import HARD_SCENARIOS, generate_hard_scene, write_negative_set
from vigil.scene_hard_scenes import bench, sit
from vigil.scene_truth import load_truth

W, H, FPS, DUR = 320, 240, 10, 3.0


def _frames(clip: Path) -> np.ndarray:
    with av.open(str(clip)) as c:
        return np.stack([f.to_ndarray(format="bgr24") for f in c.decode(video=0)])


@pytest.fixture(scope="module")
def negset(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    folder = tmp_path_factory.mktemp("neg")
    clips = write_negative_set(folder, fps=FPS, duration_s=DUR, seed=3, width=W, height=H)
    assert [c.stem for c in clips] == list(HARD_SCENARIOS)
    return {c.stem: _frames(c) for c in clips}


@pytest.mark.parametrize("name", HARD_SCENARIOS)
def test_each_scenario_is_a_decodable_clip_with_an_empty_truth(
    tmp_path: Path, name: str, negset: dict[str, np.ndarray]
) -> None:
    frames = negset[name]
    assert frames.shape == (round(DUR * FPS), H, W, 3)
    clip = tmp_path / f"{name}.mp4"
    truth = generate_hard_scene(
        clip, scenario=name, seed=3, duration_s=DUR, fps=FPS, width=W, height=H
    )
    assert truth.events == [] and truth.scenario == name
    assert load_truth(clip) == truth
    again = _frames(clip)
    assert np.array_equal(again, frames), "the same seed gives the same frames"
    assert frames.std() > 10, "a textured scene, not a flat frame"


def test_another_seed_gives_another_clip(tmp_path: Path, negset: dict[str, np.ndarray]) -> None:
    clip = tmp_path / "sit.mp4"
    generate_hard_scene(clip, scenario="sit", seed=4, duration_s=DUR, fps=FPS, width=W, height=H)
    assert not np.array_equal(_frames(clip), negset["sit"])


def test_an_unknown_scenario_and_a_missing_folder_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown scenario"):
        generate_hard_scene(tmp_path / "x.mp4", scenario="fall")
    with pytest.raises(FileNotFoundError):
        generate_hard_scene(tmp_path / "no" / "x.mp4", scenario="pan")


def _shifts(frames: np.ndarray) -> np.ndarray:
    """The global (dx, dy) between consecutive frames, by phase correlation."""
    grey = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY).astype(np.float64) for f in frames]
    win = cv2.createHanningWindow((W, H), cv2.CV_64F)
    return np.array([cv2.phaseCorrelate(a, b, win)[0] for a, b in pairwise(grey)])


def test_the_pan_moves_the_whole_view_and_a_still_camera_does_not(
    negset: dict[str, np.ndarray],
) -> None:
    pan = np.abs(_shifts(negset["pan"])[:, 0])
    assert pan.max() > 5 and (pan > 1).sum() >= 5
    still = np.abs(_shifts(negset["sit"]))
    assert still.max() < 1


def test_the_shake_jitters_a_few_px_both_ways(negset: dict[str, np.ndarray]) -> None:
    dx = _shifts(negset["shake"])
    assert np.abs(dx).max() < 12, "a few px, not a pan"
    assert (dx[:, 0] > 0.5).any() and (dx[:, 0] < -0.5).any()
    assert np.abs(dx).mean() > 0.7


def _sharpness(frame: np.ndarray) -> float:
    small = cv2.GaussianBlur(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), (0, 0), 1.0)
    return float(cv2.Laplacian(small.astype(np.float64), cv2.CV_64F).var())


def test_the_zoom_magnifies_the_texture_and_comes_back(negset: dict[str, np.ndarray]) -> None:
    f = negset["zoom"]
    n = len(f)
    first, zoomed = _sharpness(f[0]), _sharpness(f[int(0.4 * n)])
    assert zoomed < 0.6 * first
    assert _sharpness(f[int(0.68 * n)]) > 0.8 * first


def test_the_exposure_steps_the_whole_frame_brightness(negset: dict[str, np.ndarray]) -> None:
    mean = negset["exposure"].reshape(len(negset["exposure"]), -1).mean(axis=1)
    assert mean.max() / mean.min() > 1.5
    assert np.abs(np.diff(mean)).max() > 0.1 * mean.mean()
    steady = negset["edges"].reshape(len(negset["edges"]), -1).mean(axis=1)
    assert steady.max() / steady.min() < 1.1


def test_headlights_light_a_dark_scene_here_and_there(negset: dict[str, np.ndarray]) -> None:
    f = negset["headlights"].astype(np.float32)
    assert f.mean() < 60, "night"
    lit = (f.max(axis=3) > 150).mean(axis=(1, 2))
    assert lit.max() > 0.05 and lit.min() < 0.5 * lit.max(), "light pools that come and go"


def test_people_cross_every_border(negset: dict[str, np.ndarray]) -> None:
    grey = negset["edges"].max(axis=3).astype(np.int16)
    moving = np.abs(np.diff(grey, axis=0)) > 30
    strips = {
        "top": moving[:, :6, :],
        "bottom": moving[:, -6:, :],
        "left": moving[:, :, :6],
        "right": moving[:, :, -6:],
    }
    for edge, strip in strips.items():
        assert strip.mean(axis=(1, 2)).max() > 0.01, edge


def test_sitting_lowers_the_head_and_lying_lays_the_torso_flat() -> None:
    stand = skeleton(100, 200, 100, 0.0, 0.0, 1, 0.0, 0.0)
    seated = skeleton(100, 200, 100, 0.0, 0.0, 1, 1.0, 0.0)
    lying = skeleton(100, 200, 100, 0.0, 0.0, 1, 1.0, 1.0)
    assert stand["head"][1] < 200 - 85
    assert seated["head"][1] - stand["head"][1] > 20
    assert seated["hip"][1] == pytest.approx(200 - 26.5, abs=1)
    assert abs(lying["head"][1] - lying["hip"][1]) < 12
    assert lying["head"][0] < 100 - 30, "the torso lies back, away from the feet"
    assert lying["foot_a"][0] > 100 + 30 and abs(lying["foot_a"][1] - lying["hip"][1]) < 10


def test_the_bench_people_lie_down_slowly_and_rest_and_the_sitters_stand_up() -> None:
    stage = bench(np.random.default_rng(0), W, H, 20.0, FPS)
    lying = [p.track for p in stage.people if p.track.lie]
    assert len(lying) == 2
    for track in lying:
        (t0, v0), (t1, v1) = track.lie
        assert (v0, v1) == (0.0, 1.0) and 3.0 <= t1 - t0 <= 5.0, "slowly, not a fall"
        assert track.active(19.9) and keyed(track.lie, 19.9) == 1.0, "resting to the end"
    sitters = [
        p.track for p in sit(np.random.default_rng(0), W, H, 20.0, FPS).people if p.track.sit
    ]
    assert len(sitters) == 3
    rises = [k[1][0] - k[0][0] for k in (t.sit for t in sitters)]
    assert min(rises) <= 0.6, "one drops onto the chair"
    assert sum(keyed(t.sit, 19.9) == 0.0 for t in sitters) == 2, "two stand up again"


def test_orange_things_move(negset: dict[str, np.ndarray]) -> None:
    hsv = np.stack([cv2.cvtColor(f, cv2.COLOR_BGR2HSV) for f in negset["orange"]])
    orange = (hsv[..., 0] < 22) & (hsv[..., 1] > 150) & (hsv[..., 2] > 120)
    assert orange.mean(axis=(1, 2)).min() > 0.003
    ys, xs = np.nonzero(orange[0])
    ys2, xs2 = np.nonzero(orange[-1])
    assert math.hypot(xs.mean() - xs2.mean(), ys.mean() - ys2.mean()) > 5


def test_reflections_ripple_on_the_wall(negset: dict[str, np.ndarray]) -> None:
    wall = negset["reflections"][:, : int(0.3 * H), : int(0.45 * W)].astype(np.int16)
    change = np.abs(np.diff(wall, axis=0)).mean(axis=(1, 2, 3))
    assert change.min() > 1.5, "the caustics move every frame"


def test_the_red_lamp_blinks(negset: dict[str, np.ndarray]) -> None:
    lamp = negset["flashing"][:, int(0.56 * H), int(0.96 * W), 2].astype(int)
    assert lamp.max() - lamp.min() > 80
    on = lamp > (lamp.max() + lamp.min()) / 2
    assert 2 <= int(np.abs(np.diff(on.astype(int))).sum()) <= 10, "about once a second"
