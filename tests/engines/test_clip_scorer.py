"""The clip scorer: per-camera state, baseline, motion gate, heads, backends, via the factory."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from engines_helpers import Feed
from torch import nn

from engines.backends.base import visual_spec
from engines.backends.torch_backend import TorchBackend
from engines.clip.preprocess import PreprocessSpec
from engines.clip.scorer import ClipScorer
from engines.clip.zeroshot import build_prompt_bank
from engines.factory import build_scorer
from engines.settings import ClipConfig, ClipPromptSet, ModelConfig
from engines.types import Scorer

AXES = ["flames", "sunset", "office", "street", "lying", "standing"]


class RednessTower(nn.Module):
    """A crafted 'vision tower': how red the picture is points its embedding at 'flames'."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x.mean(dim=(2, 3))  # N x 3 (R, G, B normalised)
        red = torch.relu(m[:, 0] - 0.5 * (m[:, 1] + m[:, 2]))
        e = torch.zeros(len(x), len(AXES))
        e[:, 0] = red
        e[:, 2] = 1.0
        return nn.functional.normalize(e, dim=-1)


def _axis_text(prompts: list[str]) -> np.ndarray:
    out = np.zeros((len(prompts), len(AXES)), np.float32)
    for i, p in enumerate(prompts):
        out[i, AXES.index(p)] = 1.0
    return out


def crafted_scorer(**cfg_over: object) -> ClipScorer:
    cfg = ClipConfig.model_validate(
        {"zeroshot": {"baseline_rise_s": 20.0, "baseline_fall_s": 5.0, "half_life_s": 1.0}}
        | cfg_over
    )
    prompts = {
        "fire": ClipPromptSet(positive=["flames"], negative=["sunset"]),
        "fall": ClipPromptSet(positive=["lying"], negative=["standing"]),
    }
    bank = build_prompt_bank(prompts, ["office", "street"], _axis_text, 8.0)
    spec = PreprocessSpec.from_processor_dict({}, "clip", 32)
    visual = TorchBackend(visual_spec((32, 32)), RednessTower(), device="cpu")
    visual.load()
    return ClipScorer(cfg, preprocess=spec, visual=visual, embed_dim=len(AXES), bank=bank)


def img(bgr: tuple[int, int, int], noise_seed: int | None = None) -> np.ndarray:
    a = np.empty((48, 64, 3), np.uint8)
    a[:] = bgr
    if noise_seed is not None:  # enough change to pass the motion gate
        rng = np.random.default_rng(noise_seed)
        a[rng.integers(0, 48, 200), rng.integers(0, 64, 200)] = 255
    return a


GREY, RED, ORANGE = (100, 100, 100), (0, 0, 255), (60, 110, 200)


def test_a_scene_that_always_looks_fireish_does_not_alarm_but_fire_does() -> None:
    sc = crafted_scorer()
    feed = Feed()
    as_protocol: Scorer = sc  # the scorer satisfies the engines contract
    assert as_protocol.name == "clip"
    try:
        first = sc.score_batch(*zip(feed.push("kitchen", img(ORANGE, 0)), strict=True))[0]
        for k in range(1, 240):  # two minutes at 2 fps of the same orange-ish kitchen
            kitchen = sc.score_batch(*zip(feed.push("kitchen", img(ORANGE, k)), strict=True))[0]
        for k in range(20):
            hall = sc.score_batch(*zip(feed.push("hall", img(GREY, k)), strict=True))[0]
        assert first.score("fire") > 0.3  # at first the kitchen looks like fire ...
        assert kitchen.score("fire") < 0.05  # ... until its baseline has learned it
        assert kitchen.cues["fire_baseline_prob"] > 0.5
        assert hall.score("fire") < 0.05
        # the hall catches fire: several red frames in a row
        for k in range(6):
            f, w = feed.push("hall", img(RED, 100 + k))
            burning = sc.score_batch([f], [w])[0]
        assert burning.score("fire") > 0.6
        assert burning.score("fall") < 0.05
        assert set(burning.events) == {"fire", "fall"}
        assert burning.scorer == "clip" and burning.camera_id == "hall"
        assert burning.cues["window_frames_scored"] == 16  # 8 s window at 2 fps
        # reset forgets the kitchen's baseline: the orange scene looks like fire again
        sc.reset("kitchen")
        again = sc.score_batch(*zip(feed.push("kitchen", img(ORANGE, 999)), strict=True))[0]
        assert again.score("fire") > 0.3
    finally:
        sc.close()


def test_one_red_frame_scores_lower_than_sustained_red() -> None:
    sc = crafted_scorer()
    feed = Feed()
    try:
        for k in range(10):
            sc.score_batch(*zip(feed.push("a", img(GREY, k)), strict=True))
            sc.score_batch(*zip(feed.push("b", img(GREY, k)), strict=True))
        one = sc.score_batch(*zip(feed.push("a", img(RED, 50)), strict=True))[0]
        for k in range(4):
            sustained = sc.score_batch(*zip(feed.push("b", img(RED, 60 + k)), strict=True))[0]
        assert one.cues["fire_frame_score"] > 0.6  # the frame itself is fire-like
        assert one.score("fire") < sustained.score("fire")
    finally:
        sc.close()


def test_static_frames_skip_the_encoder_and_are_counted() -> None:
    sc = crafted_scorer()
    feed = Feed()
    try:
        for _ in range(5):
            out = sc.score_batch(*zip(feed.push("cam", img(GREY)), strict=True))[0]
        st = sc.stats()
        assert (st.frames, st.encoded, st.gated) == (5, 1, 4)
        assert out.cues["motion_gated"] == 1.0
        moved = sc.score_batch(*zip(feed.push("cam", img(RED)), strict=True))[0]
        assert moved.cues["motion_gated"] == 0.0 and sc.stats().encoded == 2
    finally:
        sc.close()
    off = crafted_scorer(motion_gate={"enabled": False})
    try:
        for _ in range(3):
            off.score_batch(*zip(feed.push("cam2", img(GREY)), strict=True))
        assert off.stats().gated == 0 and off.stats().encoded == 3
    finally:
        off.close()


def test_batch_of_several_cameras_and_repeats() -> None:
    sc = crafted_scorer()
    feed = Feed()
    try:
        pairs = [feed.push(c, img(RED if c == "c2" else GREY, 1)) for c in ("c0", "c1", "c2")]
        # the same camera twice in one batch (two frames of c0), like the pipeline may send
        pairs.append(feed.push("c0", img(GREY, 2)))
        frames, windows = zip(*pairs, strict=True)
        out = sc.score_batch(list(frames), list(windows))
        assert [s.camera_id for s in out] == ["c0", "c1", "c2", "c0"]
        assert [s.seq for s in out] == [0, 0, 0, 1]
        assert out[2].cues["fire_frame_prob"] > out[1].cues["fire_frame_prob"]
        assert sc.batcher_stats().largest_batch == 4
        # scoring the same frame again answers from memory
        again = sc.score_batch([frames[2]], [windows[2]])[0]
        assert again.events == out[2].events and sc.stats().repeated == 1
        with pytest.raises(ValueError, match="paired with the window"):
            sc.score_batch([frames[0]], [windows[1]])
        with pytest.raises(ValueError, match="1 frames but 2 windows"):
            sc.score_batch([frames[0]], list(windows[:2]))
    finally:
        sc.close()


def test_frames_dropped_by_a_full_batcher_get_empty_scores() -> None:
    sc = crafted_scorer(batch={"queue_size": 1, "max_batch": 8})
    feed = Feed()
    try:
        frames, windows = zip(*[feed.push(f"c{i}", img(GREY, i)) for i in range(3)], strict=True)
        out = sc.score_batch(list(frames), list(windows))
        assert [s.cues.get("encoder_dropped", 0.0) for s in out] == [1.0, 1.0, 0.0]
        assert out[0].events == {"fire": 0.0, "fall": 0.0}
        assert sc.stats().dropped == 2
        assert sc.batcher_stats().dropped == {"queue_full:c0": 1, "queue_full:c1": 1}
    finally:
        sc.close()


def test_concurrent_callers_get_their_own_cameras_results() -> None:
    sc = crafted_scorer(motion_gate={"enabled": False})
    ref = crafted_scorer(motion_gate={"enabled": False})
    feeds = {c: Feed() for c in ("a", "b", "c")}
    results: dict[str, list[float]] = {}
    try:

        def run(cam: str) -> None:
            out = []
            for k in range(30):
                f, w = feeds[cam].push(cam, img(RED if (k // 5) % 2 else GREY, k))
                out.append(sc.score_batch([f], [w])[0].score("fire"))
            results[cam] = out

        threads = [threading.Thread(target=run, args=(c,)) for c in feeds]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for cam, feed in feeds.items():
            want = [
                ref.score_batch([f], [_window(feed, f)])[0].score("fire") for f in feed.frames[cam]
            ]
            np.testing.assert_allclose(results[cam], want, atol=1e-6)
    finally:
        sc.close()
        ref.close()


def test_concurrent_callers_share_encoder_batches() -> None:
    """While one caller's frame is in the encoder, other cameras' frames queue and run as one
    batch: the scorer does not hold its lock while waiting for embeddings."""
    release, entered = threading.Event(), threading.Event()

    class SlowFirstBatch(TorchBackend):
        calls = 0

        def _run(self, inputs):  # type: ignore[no-untyped-def]
            SlowFirstBatch.calls += 1
            if SlowFirstBatch.calls == 1:
                entered.set()
                release.wait(30)
            return super()._run(inputs)

    sc = crafted_scorer()
    sc.visual = SlowFirstBatch(visual_spec((32, 32)), RednessTower(), device="cpu")
    sc.visual.load()
    feed = Feed()
    pairs = {c: feed.push(c, img(GREY, i)) for i, c in enumerate("abc")}
    out: dict[str, float] = {}

    def call(c: str) -> None:
        f, w = pairs[c]
        out[c] = sc.score_batch([f], [w])[0].score("fire")

    try:
        first = threading.Thread(target=call, args=("a",))
        first.start()
        assert entered.wait(30)
        others = [threading.Thread(target=call, args=(c,)) for c in "bc"]
        for t in others:
            t.start()
        for _ in range(3000):  # until both frames wait in the batcher's queue
            if sc._batcher.pending() == 2:
                break
            threading.Event().wait(0.01)
        assert sc._batcher.pending() == 2
        release.set()
        for t in [first, *others]:
            t.join(30)
        assert sorted(out) == ["a", "b", "c"]
        assert sc.batcher_stats().largest_batch == 2
        assert sc.batcher_stats().batches == 2
    finally:
        release.set()
        sc.close()


def _window(feed: Feed, f):  # type: ignore[no-untyped-def]
    from streamer.types import Window

    hist = [
        x for x in feed.frames[f.camera_id] if f.pts_s - feed.window_s + 1e-9 < x.pts_s <= f.pts_s
    ]
    return Window(f.camera_id, tuple(hist), feed.window_s)


# -- the real path: factory -> tiny CLIP from a folder -> backends ---------------------------


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_factory_builds_the_clip_scorer_on_the_tiny_model(
    backend: str, clip_cfg: Callable[..., ClipConfig]
) -> None:
    cfg = ModelConfig(profile="clip", clip=clip_cfg(backend=backend, precision="fp32"))
    sc = build_scorer(cfg)
    feed = Feed()
    try:
        assert sc.name == "clip" and sc.events == ("fall", "fire", "smoke", "intrusion")
        rng = np.random.default_rng(0)
        for _ in range(4):
            pairs = [feed.push(c, rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)) for c in "xy"]
            frames, windows = zip(*pairs, strict=True)
            out = sc.score_batch(list(frames), list(windows))
        for s in out:
            assert set(s.events) == set(sc.events)
            assert all(0.0 <= v <= 1.0 for v in s.events.values())
            assert s.cues["window_frames_scored"] == 4
        assert backend in sc.description  # type: ignore[attr-defined]
    finally:
        sc.close()


def test_torch_and_onnxruntime_scorers_agree(clip_cfg: Callable[..., ClipConfig]) -> None:
    outs = {}
    for backend in ("torch", "onnxruntime"):
        sc = build_scorer(
            ModelConfig(profile="clip", clip=clip_cfg(backend=backend, precision="fp32"))
        )
        feed = Feed()
        rng = np.random.default_rng(1)
        try:
            outs[backend] = [
                sc.score_batch(
                    *zip(
                        feed.push("c", rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)),
                        strict=True,
                    )
                )[0]
                for _ in range(5)
            ]
        finally:
            sc.close()
    for a, b in zip(outs["torch"], outs["onnxruntime"], strict=True):
        for ev in a.events:
            assert a.events[ev] == pytest.approx(b.events[ev], abs=1e-4)


def test_trained_temporal_heads(clip_cfg: Callable[..., ClipConfig], tmp_path: Path) -> None:
    from engines.clip.temporal import TemporalEncoder

    torch.manual_seed(0)
    TemporalEncoder(16, ["fall", "smoke"], window_frames=6, layers=1, heads=2, width=16).save(
        tmp_path / "heads.pt"
    )
    for backend in ("torch", "onnxruntime"):
        cfg = clip_cfg(backend=backend, temporal={"weights": str(tmp_path / "heads.pt")})
        sc = build_scorer(ModelConfig(profile="clip", clip=cfg))
        feed = Feed()
        try:
            assert sc.events == ("fall", "smoke")
            rng = np.random.default_rng(2)
            used = []
            for _ in range(8):
                s = sc.score_batch(
                    *zip(
                        feed.push("c", rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)),
                        strict=True,
                    )
                )[0]
                used.append(s.cues["window_frames_scored"])
                assert set(s.events) == {"fall", "smoke"}
                assert all(0.0 <= v <= 1.0 for v in s.events.values())
            assert used == [1, 2, 3, 4, 5, 6, 6, 6]  # masks until the 6 slots are full
        finally:
            sc.close()


def test_temporal_weights_of_another_model_are_refused(
    clip_cfg: Callable[..., ClipConfig], tmp_path: Path
) -> None:
    from engines.clip.temporal import TemporalEncoder
    from engines.errors import ModelLoadError

    TemporalEncoder(512, ["fall"], window_frames=4, width=16, heads=2).save(tmp_path / "h.pt")
    cfg = clip_cfg(backend="torch", temporal={"weights": str(tmp_path / "h.pt")})
    with pytest.raises(ModelLoadError, match=r"model\.clip\.temporal\.weights: .*512-d"):
        build_scorer(ModelConfig(profile="clip", clip=cfg))


def test_graphs_of_another_model_fail_even_with_auto(
    clip_cfg: Callable[..., ClipConfig], tmp_path: Path
) -> None:
    """A user-given onnx_dir that does not belong to the model is an error, not a silent
    fallback to another backend."""
    from engines_helpers import save_tiny_clip

    from engines.clip.exporter import export_bundle
    from engines.errors import ArtifactError

    other = save_tiny_clip(tmp_path / "other", seed=3)
    export_bundle(clip_cfg(visual=str(other)), tmp_path / "graphs")
    cfg = clip_cfg(backend="auto", precision="fp32", onnx_dir=str(tmp_path / "graphs"))
    with pytest.raises(ArtifactError, match="exported from another model"):
        build_scorer(ModelConfig(profile="clip", clip=cfg))
