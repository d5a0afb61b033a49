"""Zero-shot head maths on crafted embeddings, the temporal encoder's masks, the motion gate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from engines.clip.gate import MotionGate
from engines.clip.temporal import TemporalEncoder, load_temporal, window_batch
from engines.clip.zeroshot import (
    RunningBaseline,
    aggregate_window,
    build_prompt_bank,
    frame_probabilities,
)
from engines.errors import ModelLoadError
from engines.settings import ClipMotionGateConfig, ClipPromptSet

# Crafted text space: every prompt gets its own axis, so similarities are exact.
PROMPTS = {
    "fire": ClipPromptSet(positive=["flames", "burning"], negative=["sunset"]),
    "fall": ClipPromptSet(positive=["lying"], negative=["standing"]),
}
NORMAL = ["office", "street"]


def _axis_encoder(prompts: list[str]) -> np.ndarray:
    order = ["flames", "burning", "sunset", "office", "street", "lying", "standing"]
    out = np.zeros((len(prompts), len(order)), np.float32)
    for i, p in enumerate(prompts):
        out[i, order.index(p)] = 1.0
    return out


def _bank(scale: float = 10.0):  # type: ignore[no-untyped-def]
    return build_prompt_bank(PROMPTS, NORMAL, _axis_encoder, scale)


def _emb(**weights: float) -> np.ndarray:
    order = ["flames", "burning", "sunset", "office", "street", "lying", "standing"]
    v = np.array([weights.get(k, 0.0) for k in order], np.float32)
    return v / np.linalg.norm(v)


def test_prompts_are_encoded_once_and_sets_are_indexed() -> None:
    seen: list[list[str]] = []

    def enc(p):  # type: ignore[no-untyped-def]
        seen.append(list(p))
        return _axis_encoder(p)

    bank = build_prompt_bank(PROMPTS, NORMAL, enc, 10.0)
    assert len(seen) == 1 and len(seen[0]) == len(set(seen[0])) == 7
    assert bank.events == ("fire", "fall")
    # fire's set: its 2 positives, its negative and the 2 normal prompts; fall's: 1 + 1 + 2.
    assert bank.in_set.sum(1).tolist() == [5, 4]
    np.testing.assert_allclose(bank.prior, [2 / 5, 1 / 4])


def test_frame_probability_is_the_softmax_mass_on_positives() -> None:
    bank = _bank(scale=10.0)
    e = _emb(flames=1.0, office=0.5)
    p = frame_probabilities(bank, e[None])[0]
    sims = {"flames": e[0], "burning": e[1], "sunset": e[2], "office": e[3], "street": e[4]}
    ex = {k: np.exp(10.0 * v) for k, v in sims.items()}
    want_fire = (ex["flames"] + ex["burning"]) / sum(ex.values())
    assert p[0] == pytest.approx(want_fire, rel=1e-5)
    # fall's set: lying, standing (0 similarity), office, street (normal prompts)
    want_fall = 1.0 / (1.0 + 1.0 + ex["office"] + ex["street"])
    assert p[1] == pytest.approx(want_fall, rel=1e-5)
    # no similarity with any prompt of a set -> uniform softmax -> the prior
    p0 = frame_probabilities(bank, np.zeros((1, 7), np.float32))[0]
    np.testing.assert_allclose(p0, bank.prior, rtol=1e-5)


def test_equal_similarity_to_everything_scores_zero() -> None:
    """A frame as close to the fire prompts as to every other prompt (raw cosine 0.38, high for
    CLIP) is not fire: the softmax is uniform, the probability is the prior, the score 0."""
    bank = _bank()
    e = np.ones((1, 7), np.float32) / np.sqrt(7)
    assert float((bank.text @ e[0]).min()) > 0.37
    p = frame_probabilities(bank, e)[0]
    np.testing.assert_allclose(p, bank.prior, rtol=1e-5)
    base = RunningBaseline(bank.prior, 60.0, 10.0)
    assert base.calibrate(p).max() < 1e-5


def test_event_without_negatives_is_refused() -> None:
    with pytest.raises(ValueError, match="no negative or normal-scene prompts"):
        build_prompt_bank({"fire": ClipPromptSet(positive=["flames"])}, [], _axis_encoder, 10.0)


def test_baseline_absorbs_a_scene_that_always_looks_like_fire() -> None:
    bank = _bank(scale=10.0)
    fireish = frame_probabilities(bank, _emb(flames=1.0, office=0.9)[None])[0]
    base = RunningBaseline(bank.prior, rise_s=60.0, fall_s=10.0)
    first = base.calibrate(fireish)[0]
    for k in range(1, 1200):  # 10 minutes at 2 fps
        base.update(fireish, k * 0.5)
    late = base.calibrate(fireish)[0]
    assert fireish[0] > bank.prior[0]  # the scene does look somewhat fire-ish
    assert first > 0.05
    assert late < 0.01
    # ... while real flames in that same scene still stand out.
    flames = frame_probabilities(bank, _emb(flames=1.0, burning=1.0)[None])[0]
    assert base.calibrate(flames)[0] > 0.8


def test_baseline_falls_faster_than_it_rises() -> None:
    base = RunningBaseline(np.array([0.5], np.float32), rise_s=100.0, fall_s=10.0)
    base.update(np.array([0.5], np.float32), 0.0)
    base.update(np.array([1.0], np.float32), 10.0)
    up = float(base.value[0]) - 0.5
    base2 = RunningBaseline(np.array([0.5], np.float32), rise_s=100.0, fall_s=10.0)
    base2.update(np.array([0.5], np.float32), 0.0)
    base2.update(np.array([0.0], np.float32), 10.0)
    down = 0.5 - float(base2.value[0])
    assert down > 3 * up > 0


def test_calibrated_scores_stay_in_unit_range() -> None:
    base = RunningBaseline(np.array([0.2, 0.9], np.float32), 60.0, 10.0)
    s = base.calibrate(np.array([0.0, 1.0], np.float32))
    assert s.tolist() == [0.0, 1.0]


def test_window_aggregation_weights_recent_frames() -> None:
    scores = [np.array([0.0]), np.array([1.0])]
    assert aggregate_window(scores, [0.0, 2.0], half_life_s=2.0)[0] == pytest.approx(2 / 3)
    assert aggregate_window(scores, [0.0, 2.0], half_life_s=1e6)[0] == pytest.approx(0.5)


# -- temporal encoder ------------------------------------------------------------------------


def test_masked_slots_do_not_change_the_output() -> None:
    torch.manual_seed(0)
    enc = TemporalEncoder(8, ["fall", "fire"], window_frames=6, layers=2, heads=2, width=16).eval()
    hist = [np.random.default_rng(i).normal(size=8).astype(np.float32) for i in range(3)]
    emb, mask = window_batch([hist], 6, 8)
    assert mask.tolist() == [[0, 0, 0, 1, 1, 1]]  # right-aligned: newest in the last slot
    np.testing.assert_allclose(emb[0, 5], hist[-1])
    noisy = emb.copy()
    noisy[0, :3] = 100.0  # garbage in the masked (not yet filled) slots
    with torch.inference_mode():
        a = enc(torch.from_numpy(emb), torch.from_numpy(mask))
        b = enc(torch.from_numpy(noisy), torch.from_numpy(mask))
        full = enc(torch.from_numpy(noisy), torch.ones(1, 6))
    assert a.shape == (1, 2)
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, full)


def test_positions_are_learned_per_slot() -> None:
    torch.manual_seed(1)
    enc = TemporalEncoder(4, ["fall"], window_frames=4, layers=1, heads=1, width=8).eval()
    x = torch.randn(1, 4, 4)
    with torch.inference_mode():
        a = enc(x, torch.ones(1, 4))
        b = enc(x.flip(1), torch.ones(1, 4))
    assert not torch.allclose(a, b)  # order matters


def test_window_longer_than_slots_keeps_the_newest() -> None:
    hist = [np.full(2, i, np.float32) for i in range(10)]
    emb, mask = window_batch([hist, []], 4, 2)
    assert emb[0, :, 0].tolist() == [6, 7, 8, 9]
    assert mask[1].sum() == 0


def test_temporal_weights_round_trip_and_errors(tmp_path: Path) -> None:
    enc = TemporalEncoder(16, ["fall", "smoke"], window_frames=5, layers=1, heads=2, width=16)
    enc.save(tmp_path / "t.pt")
    back = load_temporal(tmp_path / "t.pt", embed_dim=16, key="k")
    assert back.events == ("fall", "smoke") and back.window_frames == 5
    for (n1, p1), (_, p2) in zip(enc.state_dict().items(), back.state_dict().items(), strict=True):
        assert torch.equal(p1, p2), n1
    with pytest.raises(ModelLoadError, match="trained on 16-d embeddings but the visual"):
        load_temporal(tmp_path / "t.pt", embed_dim=512, key="model.clip.temporal.weights")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelLoadError, match="not a readable weights file"):
        load_temporal(tmp_path / "junk.pt", embed_dim=16, key="k")
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_temporal(tmp_path / "none.pt", embed_dim=16, key="k")


# -- motion gate ------------------------------------------------------------------------------


def test_gate_skips_static_frames_and_catches_small_objects() -> None:
    gate = MotionGate(ClipMotionGateConfig(max_skip_s=10.0))
    bg = np.full((240, 320, 3), 90, np.uint8)
    d0 = gate.decide("c", bg, 0.0)
    assert not d0.static  # nothing to compare with yet
    gate.encoded("c", d0.thumb, 0.0)
    noise = np.clip(bg + np.random.default_rng(0).integers(-3, 4, bg.shape), 0, 255)
    assert gate.decide("c", noise.astype(np.uint8), 0.5).static  # sensor noise is static
    person = bg.copy()
    person[100:140, 150:165] = 20  # a small dark figure, under 1% of the frame
    d = gate.decide("c", person, 1.0)
    assert not d.static and d.changed_frac > 0.002
    assert not gate.decide("c", bg, 10.0).static  # max_skip_s forces an encode
    assert not gate.decide("other", bg, 0.5).static  # per camera
    assert not gate.decide("c", np.full((100, 100, 3), 90, np.uint8), 1.0).static  # new shape
    gate.reset("c")
    assert not gate.decide("c", bg, 1.0).static


def test_disabled_gate_never_skips() -> None:
    gate = MotionGate(ClipMotionGateConfig(enabled=False))
    bg = np.full((48, 64, 3), 90, np.uint8)
    gate.encoded("c", gate.decide("c", bg, 0.0).thumb, 0.0)
    assert not gate.decide("c", bg, 0.5).static
