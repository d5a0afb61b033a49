"""Zero-shot event heads: prompt-set softmax per frame, per-camera baseline, window aggregation.

Raw CLIP cosine similarity is poorly calibrated (its range differs per model, prompt and scene),
so it is never thresholded. Per frame and event, the similarities to the event's prompt set
(positive prompts, the event's negative prompts and the normal-scene prompts) go through a
softmax; the event's probability is the mass on its positive prompts. A per-camera baseline of
that probability (rising slowly, falling faster) is subtracted so that a scene that always looks
a bit like fire does not alarm: ``score = max(0, p - b) / (1 - b)``. The window's score is a
recency-weighted mean of its frames' scores.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from engines.settings import ClipPromptSet


@dataclass(frozen=True)
class PromptBank:
    """Prompt text embeddings and, per event, which prompts form its set and which are positive."""

    events: tuple[str, ...]
    prompts: tuple[str, ...]
    text: np.ndarray  # P x D, L2-normalised
    in_set: np.ndarray  # E x P bool
    positive: np.ndarray  # E x P bool
    logit_scale: float

    @property
    def prior(self) -> np.ndarray:
        """Per-event probability of a uniform softmax (the baseline before any frame)."""
        prior: np.ndarray = (self.positive.sum(1) / self.in_set.sum(1)).astype(np.float32)
        return prior


def build_prompt_bank(
    prompt_sets: Mapping[str, ClipPromptSet],
    normal: Sequence[str],
    encode_text: Callable[[Sequence[str]], np.ndarray],
    logit_scale: float,
) -> PromptBank:
    """Encode every distinct prompt once and index the per-event sets."""
    events = tuple(prompt_sets)
    prompts: list[str] = []
    index: dict[str, int] = {}

    def idx(p: str) -> int:
        if p not in index:
            index[p] = len(prompts)
            prompts.append(p)
        return index[p]

    members: list[tuple[set[int], set[int]]] = []
    for ev in events:
        ps = prompt_sets[ev]
        pos = {idx(p) for p in ps.positive}
        rest = {idx(p) for p in [*ps.negative, *normal]} - pos
        members.append((pos, pos | rest))
    text = np.asarray(encode_text(prompts), np.float32)
    if text.ndim != 2 or text.shape[0] != len(prompts):
        raise ValueError(f"text encoder returned shape {text.shape} for {len(prompts)} prompts")
    text /= np.maximum(np.linalg.norm(text, axis=1, keepdims=True), 1e-12)
    in_set = np.zeros((len(events), len(prompts)), bool)
    positive = np.zeros_like(in_set)
    for e, (pos, allp) in enumerate(members):
        if len(allp) == len(pos):
            raise ValueError(
                f"event {events[e]!r} has no negative or normal-scene prompts to compare with"
            )
        positive[e, sorted(pos)] = True
        in_set[e, sorted(allp)] = True
    return PromptBank(events, tuple(prompts), text, in_set, positive, float(logit_scale))


def frame_probabilities(bank: PromptBank, embeddings: np.ndarray) -> np.ndarray:
    """Per frame and event, the softmax mass on the event's positive prompts: ``N x E``."""
    emb = np.asarray(embeddings, np.float32)
    emb = emb / np.maximum(np.linalg.norm(emb, axis=-1, keepdims=True), 1e-12)
    logits = bank.logit_scale * (emb @ bank.text.T)  # N x P
    masked = np.where(bank.in_set[None, :, :], logits[:, None, :], -np.inf)  # N x E x P
    masked = masked - masked.max(axis=-1, keepdims=True)
    ex = np.exp(masked)
    p = ex / ex.sum(axis=-1, keepdims=True)
    out = (p * bank.positive[None]).sum(axis=-1)
    probs: np.ndarray = np.clip(out, 0.0, 1.0).astype(np.float32)
    return probs


class RunningBaseline:
    """Per-event running level of a camera's frame probabilities.

    It moves toward each new value with time constant ``rise_s`` when the value is above it and
    ``fall_s`` when below (time from stream timestamps, so the rate does not depend on fps).
    """

    def __init__(self, prior: np.ndarray, rise_s: float, fall_s: float) -> None:
        self.value = np.asarray(prior, np.float32).copy()
        self.rise_s = rise_s
        self.fall_s = fall_s
        self._last_pts_s: float | None = None

    def calibrate(self, probs: np.ndarray) -> np.ndarray:
        """Scores in ``[0, 1]`` of probabilities against the current baseline."""
        b = self.value
        scores: np.ndarray = np.clip((probs - b) / np.maximum(1.0 - b, 1e-6), 0.0, 1.0)
        return scores.astype(np.float32)

    def update(self, probs: np.ndarray, pts_s: float) -> None:
        """Move toward ``probs`` by the stream time elapsed since the last update."""
        last = self._last_pts_s
        dt = 1.0 if last is None else min(max(pts_s - last, 0.0), 60.0)
        self._last_pts_s = pts_s
        tau = np.where(probs > self.value, self.rise_s, self.fall_s)
        alpha = 1.0 - np.exp(-dt / tau)
        self.value = (self.value + alpha * (probs - self.value)).astype(np.float32)


def aggregate_window(
    scores: Sequence[np.ndarray], pts_s: Sequence[float], half_life_s: float
) -> np.ndarray:
    """Recency-weighted mean of per-frame scores (a frame ``half_life_s`` older counts half)."""
    if not scores:
        raise ValueError("no frame scores to aggregate")
    newest = max(pts_s)
    w = np.asarray([math.pow(0.5, (newest - t) / half_life_s) for t in pts_s], np.float32)
    s = np.stack(scores).astype(np.float32)
    mean: np.ndarray = np.clip((w[:, None] * s).sum(0) / w.sum(), 0.0, 1.0)
    return mean
