"""Temporal encoder: a small transformer over a window's L2-normalised frame embeddings."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from engines.errors import ModelLoadError

WEIGHTS_FORMAT = "vigil-temporal/1"


class _Block(nn.Module):
    """Pre-norm transformer block with explicit attention (exports cleanly to ONNX)."""

    def __init__(self, width: int, heads: int, mlp_ratio: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.ln2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, mlp_ratio * width), nn.GELU(), nn.Linear(mlp_ratio * width, width)
        )

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, s, w = x.shape
        dh = w // self.heads
        qkv = self.qkv(self.ln1(x)).reshape(b, s, 3, self.heads, dh).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(dh)) + bias
        att = att.softmax(dim=-1)
        out = torch.matmul(att, v).transpose(1, 2).reshape(b, s, w)
        x = x + self.proj(out)
        mlp: torch.Tensor = self.mlp(self.ln2(x))
        return x + mlp


class TemporalEncoder(nn.Module):
    """Per-event logits from ``B x T x D`` frame embeddings and a ``B x T`` validity mask.

    Slots are right-aligned: the newest frame sits in slot ``T-1``; slots of a window that is
    not yet full are masked (mask 0) and take no part in attention. Learned temporal position
    embeddings mark each slot; a learned summary token, always valid, carries the result.
    """

    def __init__(
        self,
        embed_dim: int,
        events: Sequence[str],
        *,
        window_frames: int = 16,
        layers: int = 2,
        heads: int = 4,
        width: int = 128,
    ) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not divisible by heads {heads}")
        self.embed_dim = embed_dim
        self.events = tuple(events)
        self.window_frames = window_frames
        self.layers = layers
        self.heads = heads
        self.width = width
        self.inp = nn.Linear(embed_dim, width)
        self.pos = nn.Parameter(torch.randn(window_frames, width) * 0.02)
        self.summary = nn.Parameter(torch.randn(1, 1, width) * 0.02)
        self.blocks = nn.ModuleList(_Block(width, heads) for _ in range(layers))
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, len(self.events))

    def forward(self, embeddings: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``embeddings``: ``B x T x D``; ``mask``: ``B x T`` float, 1 = real frame."""
        b = embeddings.shape[0]
        x = nn.functional.normalize(embeddings, dim=-1)
        x = self.inp(x) + self.pos.unsqueeze(0)
        x = torch.cat([self.summary.expand(b, 1, self.width), x], dim=1)
        valid = torch.cat([torch.ones_like(mask[:, :1]), mask], dim=1)
        bias = ((1.0 - valid) * -1.0e4).unsqueeze(1).unsqueeze(1)
        for blk in self.blocks:
            x = blk(x, bias)
        logits: torch.Tensor = self.head(self.norm(x[:, 0]))
        return logits

    def hparams(self) -> dict[str, Any]:
        """Architecture as plain values (stored with the weights)."""
        return {
            "embed_dim": self.embed_dim,
            "events": list(self.events),
            "window_frames": self.window_frames,
            "layers": self.layers,
            "heads": self.heads,
            "width": self.width,
        }

    def save(self, path: str | Path) -> None:
        """Write architecture + weights to one file (read back with :func:`load_temporal`)."""
        torch.save(
            {"format": WEIGHTS_FORMAT, **self.hparams(), "state_dict": self.state_dict()},
            str(path),
        )


def load_temporal(path: str | Path, *, embed_dim: int, key: str) -> TemporalEncoder:
    """Load trained temporal-encoder weights; the file must match the visual embedding size."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ModelLoadError(f"{key}: temporal weights file {p} does not exist")
    try:
        data = torch.load(str(p), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a broken/alien file
        raise ModelLoadError(f"{key}: {p} is not a readable weights file: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != WEIGHTS_FORMAT:
        raise ModelLoadError(f"{key}: {p} is not a Vigil temporal-encoder file ({WEIGHTS_FORMAT})")
    if int(data["embed_dim"]) != embed_dim:
        raise ModelLoadError(
            f"{key}: {p} was trained on {data['embed_dim']}-d embeddings but the visual "
            f"encoder produces {embed_dim}-d ones (trained with another model?)"
        )
    enc = TemporalEncoder(
        embed_dim,
        [str(e) for e in data["events"]],
        window_frames=int(data["window_frames"]),
        layers=int(data["layers"]),
        heads=int(data["heads"]),
        width=int(data["width"]),
    )
    try:
        enc.load_state_dict(data["state_dict"])
    except RuntimeError as exc:
        raise ModelLoadError(f"{key}: {p} has weights that do not fit: {exc}") from exc
    return enc.eval()


def window_batch(
    histories: Sequence[Sequence[np.ndarray]], window_frames: int, embed_dim: int
) -> tuple[np.ndarray, np.ndarray]:
    """Right-aligned ``B x T x D`` embeddings and ``B x T`` mask from per-window embedding lists
    (oldest first; longer lists keep their newest ``window_frames``)."""
    b = len(histories)
    emb = np.zeros((b, window_frames, embed_dim), np.float32)
    mask = np.zeros((b, window_frames), np.float32)
    for i, hist in enumerate(histories):
        recent = list(hist)[-window_frames:]
        if recent:
            n = len(recent)
            emb[i, window_frames - n :] = np.stack(recent)
            mask[i, window_frames - n :] = 1.0
    return emb, mask
