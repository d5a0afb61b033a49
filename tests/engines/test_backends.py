"""Backends behind one interface: torch reference, ONNX Runtime (fp32/int8), TensorRT, auto."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from engines.backends import choose_backend
from engines.backends.base import visual_spec
from engines.backends.ort import OrtBackend
from engines.backends.torch_backend import TorchBackend, cuda_available
from engines.backends.trt import PlanCache, plan_key, tensorrt_unavailable_reason
from engines.clip.artifacts import ensure_visual_fp32, prepare_visual
from engines.clip.model import LoadedClip, load_clip
from engines.clip.preprocess import preprocess_bgr
from engines.errors import ArtifactError, BackendError
from engines.export import check_images
from engines.settings import ClipConfig

TRT_REASON = tensorrt_unavailable_reason()


@pytest.fixture(scope="module")
def model(tiny_clip_dir: Path) -> LoadedClip:
    return load_clip(str(tiny_clip_dir), local_files_only=True, with_text=False)


@pytest.fixture(scope="module")
def pixels(model: LoadedClip) -> np.ndarray:
    return preprocess_bgr(check_images(6, size_hw=(48, 64)), model.preprocess)


def test_onnxruntime_matches_torch_at_any_batch(
    model: LoadedClip, pixels: np.ndarray, clip_cfg: Callable[..., ClipConfig]
) -> None:
    spec = visual_spec(model.preprocess.output_hw)
    ref = TorchBackend(spec, model.vision, device="cpu")
    ref.load()
    ort = OrtBackend(spec, ensure_visual_fp32(clip_cfg(), model), device="cpu", threads=1)
    ort.load()
    ort.warmup((1, 4))
    try:
        assert "CPU" in ort.describe() and "threads=1" in ort.describe()
        for n in (1, 3, 6):
            want = ref.run({"pixel_values": pixels[:n]})
            got = ort.run({"pixel_values": pixels[:n]})
            assert got.shape == (n, model.embed_dim)
            np.testing.assert_allclose(got, want, atol=1e-4)
        with pytest.raises(BackendError, match=r"expected N x 3 x 32 x 32, got 2 x 3 x 16 x 16"):
            ort.run({"pixel_values": np.zeros((2, 3, 16, 16), np.float32)})
        with pytest.raises(BackendError, match="missing input 'pixel_values'"):
            ort.run({"x": pixels})
    finally:
        ort.close()
        ref.close()
    with pytest.raises(BackendError, match="run before load"):
        ort.run({"pixel_values": pixels})


def test_int8_is_used_only_when_close_to_fp32(
    model: LoadedClip, pixels: np.ndarray, clip_cfg: Callable[..., ClipConfig]
) -> None:
    accepted = prepare_visual(clip_cfg(int8_min_cosine=0.99), model, int8=True)
    assert accepted.precision == "int8" and accepted.chosen.name == "visual.int8.onnx"
    assert accepted.int8_min_cosine is not None and accepted.int8_min_cosine >= 0.99
    # A bound the quantized graph cannot meet: fp32 is used, with the measured cosine.
    rejected = prepare_visual(clip_cfg(int8_min_cosine=1.0), model, int8=True)
    assert rejected.precision == "fp32" and rejected.chosen == rejected.fp32
    assert rejected.int8_min_cosine == accepted.int8_min_cosine
    assert "rejected" in rejected.note
    be = OrtBackend(visual_spec((32, 32)), accepted.chosen, device="cpu", precision="int8")
    be.load()
    ref = model.encode_pixels(pixels)
    got = be.run({"pixel_values": pixels})
    be.close()
    cos = (got * ref).sum(-1) / np.linalg.norm(got, axis=-1)
    assert cos.min() >= 0.99


def test_a_graph_of_another_kind_is_refused(
    model: LoadedClip, tmp_path: Path, clip_cfg: Callable[..., ClipConfig]
) -> None:
    from engines.clip.artifacts import export_temporal
    from engines.clip.temporal import TemporalEncoder

    tpath = export_temporal(
        TemporalEncoder(16, ["fall"], window_frames=4, width=16, heads=2), tmp_path / "t.onnx", "x"
    )
    be = OrtBackend(visual_spec((32, 32)), tpath, device="cpu")
    with pytest.raises(ArtifactError, match=r"is not a visual graph.*pixel_values"):
        be.load()
    other = OrtBackend(visual_spec((64, 64)), ensure_visual_fp32(clip_cfg(), model), device="cpu")
    with pytest.raises(ArtifactError, match="exported from another model"):
        other.load()


def test_corrupt_onnx_file_gives_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "visual.onnx"
    bad.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(ArtifactError, match=r"onnxruntime cannot load visual graph .*visual\.onnx"):
        OrtBackend(visual_spec((32, 32)), bad, device="cpu").load()
    with pytest.raises(ArtifactError, match="does not exist"):
        OrtBackend(visual_spec((32, 32)), tmp_path / "none.onnx", device="cpu").load()


def test_auto_picks_by_what_is_installed() -> None:
    name, why = choose_backend("auto", "auto")
    if TRT_REASON is None:
        assert name == "tensorrt"
    elif importlib.util.find_spec("onnxruntime") is not None:
        assert name == "onnxruntime"
        assert f"not tensorrt: {TRT_REASON}" in why
    # device cpu never picks TensorRT
    name_cpu, why_cpu = choose_backend("auto", "cpu")
    assert name_cpu != "tensorrt" and "device is cpu" in why_cpu
    assert choose_backend("torch", "auto") == ("torch", "configured")
    if TRT_REASON is not None:
        with pytest.raises(BackendError, match=r"model\.clip\.backend: tensorrt cannot run here"):
            choose_backend("tensorrt", "auto")


@pytest.mark.skipif(not cuda_available(), reason="needs a CUDA GPU (torch sees none)")
def test_torch_cuda_fp16_autocast_stays_close(model: LoadedClip, pixels: np.ndarray) -> None:
    be = TorchBackend(visual_spec((32, 32)), model.vision, device="cuda", fp16=True)
    be.load()
    got = be.run({"pixel_values": pixels})
    be.close()
    model.vision.to("cpu")
    ref = model.encode_pixels(pixels)
    assert "fp16" in be.describe()
    assert ((got * ref).sum(-1) / np.linalg.norm(got, axis=-1)).min() > 0.99


def test_cuda_requested_without_a_gpu_is_refused(model: LoadedClip) -> None:
    if cuda_available():
        pytest.skip("a CUDA GPU is present")
    with pytest.raises(BackendError, match="device cuda requested"):
        TorchBackend(visual_spec((32, 32)), model.vision, device="cuda")


# -- TensorRT ---------------------------------------------------------------------------------


def test_plan_key_names_onnx_hash_trt_version_and_gpu() -> None:
    k = plan_key("ab" * 32, "10.3.0", "NVIDIA H100 80GB HBM3", (1, 8, 32), True)
    assert k.startswith("abababab") and "trt10.3.0" in k and "NVIDIA-H100-80GB-HBM3" in k
    assert plan_key("ab" * 32, "10.3.0", "NVIDIA A10", (1, 8, 32), True) != k
    assert plan_key("cd" * 32, "10.3.0", "NVIDIA H100 80GB HBM3", (1, 8, 32), True) != k


def test_corrupt_plan_cache_is_rebuilt(tmp_path: Path) -> None:
    """The cache logic with TensorRT's deserializer replaced by a strict stand-in (no GPU)."""
    cache = PlanCache(tmp_path / "plans")
    builds: list[int] = []

    def build() -> bytes:
        builds.append(1)
        return b"PLAN:v1"

    def deserialize(data: bytes) -> str | None:
        return data.decode() if data.startswith(b"PLAN:") else None  # TRT returns None

    eng, built = cache.load_or_build("k", build, deserialize, note={"gpu": "x"})
    assert (eng, built, len(builds)) == ("PLAN:v1", True, 1)
    assert cache.load_or_build("k", build, deserialize) == ("PLAN:v1", False)
    cache.path("k").write_bytes(b"\x00truncated")
    assert cache.load_or_build("k", build, deserialize) == ("PLAN:v1", True)
    assert len(builds) == 2 and cache.path("k").read_bytes() == b"PLAN:v1"

    def raising(data: bytes) -> str:
        raise RuntimeError("Serialization assertion magicTagRead failed")

    cache.path("k").write_bytes(b"junk")
    with pytest.raises(BackendError, match="could not deserialize the plan it just built"):
        cache.load_or_build("k", build, lambda d: None)
    assert not cache.path("k").exists()
    eng, built = cache.load_or_build("k", build, lambda d: raising(d) if d == b"junk" else d)
    assert built


@pytest.mark.gpu
@pytest.mark.skipif(TRT_REASON is not None, reason=f"TensorRT backend unavailable: {TRT_REASON}")
def test_tensorrt_engine_matches_torch_and_is_cached(
    model: LoadedClip, pixels: np.ndarray, clip_cfg: Callable[..., ClipConfig], tmp_path: Path
) -> None:
    from engines.backends.trt import TensorRTBackend

    onnx_path = ensure_visual_fp32(clip_cfg(), model)
    be = TensorRTBackend(
        visual_spec((32, 32)), onnx_path, cache_dir=tmp_path, min_batch=1, opt_batch=2, max_batch=4
    )
    be.load()
    assert be.built_now
    try:
        got = be.run({"pixel_values": pixels})  # 6 frames > max_batch 4: split
    finally:
        be.close()
    ref = model.encode_pixels(pixels)
    assert ((got * ref).sum(-1)).min() > 0.99
    again = TensorRTBackend(
        visual_spec((32, 32)), onnx_path, cache_dir=tmp_path, min_batch=1, opt_batch=2, max_batch=4
    )
    again.load()
    assert not again.built_now
    again.close()
    assert be.plan_path is not None
    be.plan_path.write_bytes(b"corrupt")
    third = TensorRTBackend(
        visual_spec((32, 32)), onnx_path, cache_dir=tmp_path, min_batch=1, opt_batch=2, max_batch=4
    )
    third.load()
    assert third.built_now
    third.close()


@pytest.mark.skipif(TRT_REASON is None, reason="TensorRT is available here")
def test_tensorrt_backend_refuses_with_the_reason(model: LoadedClip, tmp_path: Path) -> None:
    from engines.backends.trt import TensorRTBackend

    be = TensorRTBackend(visual_spec((32, 32)), tmp_path / "v.onnx", cache_dir=tmp_path)
    with pytest.raises(BackendError, match=f"tensorrt backend unavailable: {TRT_REASON}"):
        be.load()


def test_broken_cached_graphs_are_made_again(
    model: LoadedClip, tmp_path: Path, clip_cfg: Callable[..., ClipConfig]
) -> None:
    cfg = clip_cfg(cache_dir=str(tmp_path / "cache"))
    first = prepare_visual(cfg, model, int8=True)
    assert first.precision == "int8"
    first.fp32.write_bytes(b"truncated by a full disk")
    first.chosen.write_bytes(b"\x08\x07junk")
    again = prepare_visual(cfg, model, int8=True)
    assert (again.fp32, again.chosen) == (first.fp32, first.chosen)
    for path in (again.fp32, again.chosen):
        be = OrtBackend(visual_spec((32, 32)), path, device="cpu")
        be.load()
        assert be.run({"pixel_values": np.zeros((1, 3, 32, 32), np.float32)}).shape == (1, 16)
        be.close()


def test_siglip_exports_with_parity(tiny_siglip_dir: Path, tmp_path: Path) -> None:
    from engines.clip.exporter import PARITY_ATOL, export_bundle

    cfg = ClipConfig.model_validate(
        {"visual": str(tiny_siglip_dir), "local_files_only": True, "threads": 1}
    )
    rep = export_bundle(cfg, tmp_path / "siglip")
    assert rep.ok, rep
    assert rep.visual_max_diff <= PARITY_ATOL and rep.visual_top_event_match is True
    assert not rep.temporal_trained and "no trained weights" in rep.notes[0]
