"""Visual-encoder throughput: every available backend against transformers eager fp32, same run.

A ViT-B/32-sized CLIP vision tower with its projection (default ``CLIPVisionConfig``, random
weights: exactly the real model's cost) is timed at batch 1, 8 and 32 on:

- ``eager``: transformers in torch eager mode, fp32, CPU (the baseline);
- ``ort-fp32`` / ``ort-int8``: ONNX Runtime on CPU with the exported graph, and with its
  dynamic int8 quantization (its embedding cosine to fp32 on the check set is measured; int8
  counts only if it stays >= the bound, 0.99 by default);
- ``torch-cuda-fp16``, ``ort-cuda``, ``tensorrt``: where a GPU / the packages are present.

Each cell runs warm-up batches, then at least ``--min-s`` seconds and ``--min-iters`` batches.
Run: ``python bench/encoder.py [--threads 2]``. The last line holds ``key=value`` figures,
including ``ort_vs_eager_b8=`` (the best ONNX Runtime precision that passes the cosine check).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BATCHES = (1, 8, 32)


def build_tower():  # type: ignore[no-untyped-def]
    """ViT-B/32 vision tower + projection with random weights, as the clip profile runs it."""
    import torch
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    from engines.clip.model import VisionTower

    torch.manual_seed(0)
    model = CLIPVisionModelWithProjection(CLIPVisionConfig(projection_dim=512)).eval()
    return VisionTower(model.vision_model, model.visual_projection).eval()


def time_cell(
    run: Callable[[np.ndarray], np.ndarray], x: np.ndarray, min_s: float, min_iters: int
) -> float:
    """Images per second of ``run`` on batch ``x`` (after 2 warm-up calls)."""
    for _ in range(2):
        run(x)
    n, t0 = 0, time.perf_counter()
    while True:
        run(x)
        n += 1
        dt = time.perf_counter() - t0
        if n >= min_iters and dt >= min_s:
            return n * len(x) / dt


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--threads", type=int, default=2, help="CPU threads for torch and ONNX Runtime")
    ap.add_argument("--min-s", type=float, default=2.0, help="seconds per cell at least")
    ap.add_argument("--min-iters", type=int, default=2, help="batches per cell at least")
    ap.add_argument("--min-cosine", type=float, default=0.99, help="int8 acceptance bound")
    ap.add_argument("--batches", type=int, nargs="+", default=list(BATCHES))
    ap.add_argument(
        "--repeats", type=int, default=2, help="measure every cell this often, keep the best"
    )
    args = ap.parse_args()

    import torch

    from engines.backends.base import visual_spec
    from engines.backends.ort import OrtBackend, ort_providers
    from engines.backends.torch_backend import TorchBackend, cuda_available
    from engines.backends.trt import tensorrt_unavailable_reason
    from engines.clip.preprocess import PreprocessSpec, preprocess_bgr
    from engines.export import check_images, cosine_rows, export_onnx, quantize_int8

    torch.set_num_threads(args.threads)
    tower = build_tower()
    spec = visual_spec((224, 224))
    work = Path(tempfile.mkdtemp(prefix="vigil-bench-encoder-"))
    t0 = time.perf_counter()
    fp32_path = export_onnx(
        tower,
        (torch.zeros(2, 3, 224, 224),),
        work / "visual.onnx",
        input_names=["pixel_values"],
        output_name="embeddings",
        metadata={"kind": "visual"},
    )
    int8_path = quantize_int8(fp32_path, work / "visual.int8.onnx")
    prep_s = time.perf_counter() - t0

    backends: dict[str, Callable[[np.ndarray], np.ndarray]] = {}
    eager = TorchBackend(spec, tower, device="cpu", threads=args.threads)
    eager.load()
    backends["eager"] = lambda x: eager.run({"pixel_values": x})
    loaded = []
    for name, path in (("ort-fp32", fp32_path), ("ort-int8", int8_path)):
        be = OrtBackend(spec, path, device="cpu", threads=args.threads, precision=name[4:])
        be.load()
        loaded.append(be)
        backends[name] = lambda x, be=be: be.run({"pixel_values": x})  # type: ignore[misc]

    # int8 acceptance: embedding cosine to fp32 on the check set
    check = preprocess_bgr(check_images(16), PreprocessSpec.from_processor_dict({}, "clip", 224))
    cos = cosine_rows(backends["ort-fp32"](check), backends["ort-int8"](check))
    int8_min_cos = float(cos.min())
    int8_ok = int8_min_cos >= args.min_cosine

    notes = []
    if cuda_available():
        gpu = TorchBackend(spec, build_tower(), device="cuda", fp16=True)
        gpu.load()
        backends["torch-cuda-fp16"] = lambda x: gpu.run({"pixel_values": x})
        if "CUDAExecutionProvider" in ort_providers():
            oc = OrtBackend(spec, fp32_path, device="cuda")
            oc.load()
            loaded.append(oc)
            backends["ort-cuda"] = lambda x: oc.run({"pixel_values": x})
    else:
        notes.append("no CUDA GPU: GPU rows skipped")
    trt_reason = tensorrt_unavailable_reason()
    if trt_reason is None:
        from engines.backends.trt import TensorRTBackend

        trt = TensorRTBackend(spec, fp32_path, cache_dir=work / "trt", max_batch=max(args.batches))
        trt.load()
        loaded.append(trt)
        backends["tensorrt"] = lambda x: trt.run({"pixel_values": x})
    else:
        notes.append(f"tensorrt skipped: {trt_reason}")

    rng = np.random.default_rng(0)
    results: dict[tuple[str, int], float] = {}
    for _ in range(args.repeats):  # best of N: other processes share this CPU
        for b in args.batches:
            x = rng.standard_normal((b, 3, 224, 224)).astype(np.float32)
            for name, run in backends.items():
                v = time_cell(run, x, args.min_s, args.min_iters)
                results[(name, b)] = max(v, results.get((name, b), 0.0))

    names = list(backends)
    head = f"{'backend':<17}" + "".join(
        f"{'b' + str(b) + ' img/s':>12}{'vs eager':>10}" for b in args.batches
    )
    print(
        f"ViT-B/32 vision tower (random weights), {args.threads} CPU thread(s), best of "
        f"{args.repeats}; export + int8 quantization took {prep_s:.1f}s"
    )
    print(head)
    print("-" * len(head))
    for name in names:
        row = f"{name:<17}"
        for b in args.batches:
            v = results[(name, b)]
            row += f"{v:>12.1f}{v / results[('eager', b)]:>9.2f}x"
        print(row)
    print(
        f"int8 embedding cosine to fp32 on {len(check)} check images: min {int8_min_cos:.5f} "
        f"mean {float(cos.mean()):.5f} -> {'accepted' if int8_ok else 'REJECTED'} "
        f"(bound {args.min_cosine})"
    )
    for n in notes:
        print(f"note: {n}")

    figures: dict[str, str] = {}
    for (name, b), v in results.items():
        figures[f"{name.replace('-', '_')}_b{b}"] = f"{v:.1f}"
    if 8 in args.batches:
        best = "int8" if int8_ok and results[("ort-int8", 8)] > results[("ort-fp32", 8)] else "fp32"
        figures["ort_vs_eager_b8"] = f"{results[('ort-' + best, 8)] / results[('eager', 8)]:.2f}"
        figures["ort_precision_b8"] = best
    figures["int8_min_cosine"] = f"{int8_min_cos:.5f}"
    figures["threads"] = str(args.threads)
    for be in loaded:
        be.close()
    print(" ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
