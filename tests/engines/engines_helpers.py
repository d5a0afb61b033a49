"""Helpers of the engines tests: tiny CLIP/SigLIP models built from configs (random weights),
frames and windows fed like the pipeline feeds them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from streamer.types import Frame, Window


def _byte_vocab() -> dict[str, int]:
    from tokenizers import pre_tokenizers

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    for c in alphabet:
        vocab[c] = len(vocab)
    for c in alphabet:
        vocab[c + "</w>"] = len(vocab)
    return vocab


def _tiny_towers(vocab_size: int, image_size: int) -> dict[str, dict[str, int]]:
    """Text and vision tower sizes shared by the tiny CLIP and SigLIP models."""
    layers = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2}
    return {
        "text_config": {
            **layers,
            "num_attention_heads": 2,
            "vocab_size": vocab_size,
            "max_position_embeddings": 96,
            "bos_token_id": 0,
            "eos_token_id": 1,
            "pad_token_id": 1,
        },
        "vision_config": {
            **layers,
            "num_attention_heads": 2,
            "image_size": image_size,
            "patch_size": 8,
        },
    }


def save_tiny_clip(folder: Path, *, image_size: int = 32, seed: int = 0) -> Path:
    """Write a tiny CLIPModel + tokenizer + image processor with ``save_pretrained``."""
    from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel, CLIPTokenizer

    vocab = _byte_vocab()
    cfg = CLIPConfig(
        **_tiny_towers(len(vocab), image_size),
        projection_dim=16,
    )
    torch.manual_seed(seed)
    model = CLIPModel(cfg).eval()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    CLIPTokenizer(vocab=vocab, merges=[]).save_pretrained(folder)
    CLIPImageProcessorPil(
        size={"shortest_edge": image_size},
        crop_size={"height": image_size, "width": image_size},
    ).save_pretrained(folder)
    return folder


def save_tiny_siglip(folder: Path, *, image_size: int = 32, seed: int = 0) -> Path:
    """Write a tiny SiglipModel + image processor (and a byte-level tokenizer) to ``folder``."""
    from transformers import CLIPTokenizer, SiglipConfig, SiglipImageProcessorPil, SiglipModel

    vocab = _byte_vocab()
    cfg = SiglipConfig(
        **_tiny_towers(len(vocab), image_size),
    )
    torch.manual_seed(seed)
    model = SiglipModel(cfg).eval()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    # SigLIP's own tokenizer needs sentencepiece; any tokenizer exercises the same code path.
    CLIPTokenizer(vocab=vocab, merges=[]).save_pretrained(folder)
    SiglipImageProcessorPil(size={"height": image_size, "width": image_size}).save_pretrained(
        folder
    )
    return folder


def save_tiny_bert(folder: Path) -> Path:
    """A model folder of the wrong family (a tiny BERT)."""
    from transformers import BertConfig, BertModel

    cfg = BertConfig(
        vocab_size=100,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
    )
    BertModel(cfg).save_pretrained(folder)
    return folder


def make_frame(camera_id: str, seq: int, image: np.ndarray, fps: float = 2.0) -> Frame:
    """A frame at ``seq / fps`` seconds of stream time."""
    return Frame(camera_id, seq, seq / fps, 1_700_000_000.0 + seq / fps, image)


class Feed:
    """Per-camera frame history that produces (frame, window) pairs like the pipeline does."""

    def __init__(self, window_s: float = 8.0) -> None:
        self.window_s = window_s
        self.frames: dict[str, list[Frame]] = {}

    def push(self, camera_id: str, image: np.ndarray, fps: float = 2.0) -> tuple[Frame, Window]:
        hist = self.frames.setdefault(camera_id, [])
        f = make_frame(camera_id, len(hist), image, fps)
        hist.append(f)
        recent = tuple(x for x in hist if x.pts_s > f.pts_s - self.window_s + 1e-9)
        return f, Window(camera_id, recent, self.window_s)
