"""Loading CLIP/SigLIP models through the user's path, and clear errors for bad model paths."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from engines_helpers import save_tiny_bert

from engines.clip.model import load_clip, resolve_source
from engines.errors import ModelLoadError


def test_tiny_clip_loads_from_folder(tiny_clip_dir: Path) -> None:
    from transformers import CLIPModel

    m = load_clip(str(tiny_clip_dir), local_files_only=True)
    assert (m.family, m.model_type, m.embed_dim, m.image_size) == ("clip", "clip", 16, 32)
    assert m.preprocess.output_hw == (32, 32)
    # The tower is the model's own vision transformer + projection, L2-normalised.
    ref = CLIPModel.from_pretrained(tiny_clip_dir).eval()
    x = torch.randn(3, 3, 32, 32)
    with torch.inference_mode():
        want = torch.nn.functional.normalize(ref.get_image_features(pixel_values=x).pooler_output)
    np.testing.assert_allclose(m.encode_pixels(x.numpy()), want.numpy(), atol=1e-5)
    text = m.encode_text(["a photo of fire", "a photo of an empty room"])
    assert text.shape == (2, 16)
    np.testing.assert_allclose(np.linalg.norm(text, axis=1), 1.0, atol=1e-5)
    assert m.logit_scale == pytest.approx(float(ref.logit_scale.detach().exp()))
    m.release_text()
    with pytest.raises(ModelLoadError, match="no text tower"):
        m.encode_text(["x"])


def test_fingerprint_tells_models_apart(tiny_clip_dir: Path, tmp_path: Path) -> None:
    from engines_helpers import save_tiny_clip

    a = load_clip(str(tiny_clip_dir), local_files_only=True, with_text=False)
    a2 = load_clip(str(tiny_clip_dir), local_files_only=True, with_text=False)
    b = load_clip(str(save_tiny_clip(tmp_path / "other", seed=1)), with_text=False)
    assert a.fingerprint == a2.fingerprint != b.fingerprint


def test_tiny_siglip_loads(tiny_siglip_dir: Path) -> None:
    m = load_clip(str(tiny_siglip_dir), local_files_only=True)
    assert m.family == "siglip"
    assert m.preprocess.crop_hw is None and m.preprocess.resize_hw == (32, 32)
    assert m.preprocess.mean == (0.5, 0.5, 0.5)
    emb = m.encode_pixels(np.zeros((2, 3, 32, 32), np.float32))
    assert emb.shape == (2, m.embed_dim)
    assert m.encode_text(["smoke"]).shape == (1, m.embed_dim)


def test_vision_only_model_loads_without_text(tmp_path: Path) -> None:
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    cfg = CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        image_size=32,
        patch_size=8,
        projection_dim=8,
    )
    CLIPVisionModelWithProjection(cfg).save_pretrained(tmp_path / "vis")
    m = load_clip(str(tmp_path / "vis"), local_files_only=True)
    assert (m.model_type, m.embed_dim, m.has_text) == ("clip_vision_model", 8, False)
    with pytest.raises(ModelLoadError, match=r"no text tower.*temporal\.weights"):
        m.encode_text(["fire"])


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(
        ModelLoadError, match=r"model\.clip\.visual: model folder .*nope does not exist"
    ):
        load_clip(str(tmp_path / "nope"))


def test_file_instead_of_folder(tmp_path: Path) -> None:
    f = tmp_path / "model.bin"
    f.write_bytes(b"xx")
    with pytest.raises(ModelLoadError, match="is a file; expected a model folder"):
        load_clip(str(f))


def test_folder_without_config(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match=r"has no config\.json"):
        load_clip(str(tmp_path / "empty"))


def test_wrong_family(tmp_path: Path) -> None:
    save_tiny_bert(tmp_path / "bert")
    with pytest.raises(ModelLoadError, match=r"is a 'bert' model; expected a CLIP or SigLIP"):
        load_clip(str(tmp_path / "bert"))


def test_missing_weights(tiny_clip_dir: Path, tmp_path: Path) -> None:
    d = tmp_path / "noweights"
    shutil.copytree(tiny_clip_dir, d)
    for f in d.glob("*.safetensors"):
        f.unlink()
    with pytest.raises(ModelLoadError, match="cannot load the weights"):
        load_clip(str(d), local_files_only=True)


def test_hub_id_not_in_cache_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An empty hub cache and offline mode: nothing can reach the network.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    with pytest.raises(ModelLoadError, match=r"hub model 'openai/clip-vit-base-patch32'.*folder"):
        load_clip("openai/clip-vit-base-patch32", local_files_only=True)


@pytest.mark.parametrize(
    ("value", "local"),
    [
        ("openai/clip-vit-base-patch32", False),
        ("clip-model", False),
        ("./m", True),
        ("/a/b", True),
        ("a/b/c", True),
    ],
)
def test_hub_id_or_path(
    value: str, local: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    if local:
        with pytest.raises(ModelLoadError, match="does not exist"):
            resolve_source(value)
    else:
        assert resolve_source(value) == (value, False)


def test_downloads_are_opt_in_and_hf_hub_offline_always_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engines.settings import ClipConfig

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert ClipConfig().local_files_only and ClipConfig().offline  # no network by default
    asked = ClipConfig(local_files_only=False)
    assert not asked.offline
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert asked.offline  # the environment forbids it whatever the config says
    # the default never touches the network and says how to opt in
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    with pytest.raises(ModelLoadError, match=r"downloads are off.*--download"):
        load_clip("openai/clip-vit-base-patch32")
