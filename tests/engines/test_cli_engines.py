"""`vigil engines export|build` on a tiny model folder, and bad input through the CLI."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from engines_helpers import save_tiny_clip
from typer.testing import CliRunner

from engines.export import read_metadata
from tests.support.cli import run_vigil
from vigil.cli_engines import app

OFFLINE = {"HF_HUB_OFFLINE": "1"}  # tests never touch the network


def _config(tmp: Path, clip: dict[str, object]) -> Path:
    lines = ["model:", "  profile: clip", "  clip:"]
    lines += [f"    {k}: {v}" for k, v in clip.items()]
    p = tmp / "vigil.yaml"
    p.write_text("\n".join(lines) + "\n")
    return p


def test_export_writes_checked_graphs_with_parity(tiny_clip_dir: Path, tmp_path: Path) -> None:
    cfg = _config(tmp_path, {"visual": tiny_clip_dir, "local_files_only": "true", "threads": 1})
    out = tmp_path / "graphs"
    proc = run_vigil(
        "engines", "export", "-c", str(cfg), "--out", str(out), "--int8", env=OFFLINE, timeout=240
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in ("visual.onnx", "temporal.onnx", "visual.int8.onnx"):
        onnx.checker.check_model(str(out / name))
    assert "visual   max |onnxruntime - torch| = " in proc.stdout
    assert "zero-shot top event per check image: same" in proc.stdout
    assert "top event: same" in proc.stdout
    diff = float(proc.stdout.split("visual   max |onnxruntime - torch| = ")[1].split()[0])
    assert diff <= 1e-4
    assert "embedding cosine to fp32 min 0.99" in proc.stdout
    # dynamic batch axis on every input and output
    model = onnx.load(str(out / "visual.onnx"))
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert model.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    meta = read_metadata(out / "temporal.onnx")
    assert meta["kind"] == "temporal" and meta["events"] == "fall,fire,smoke,intrusion"
    assert read_metadata(out / "visual.onnx")["kind"] == "visual"


def test_build_prepares_the_backend_and_reuses_exported_graphs(
    tiny_clip_dir: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    out = tmp_path / "graphs"
    cfg = _config(
        tmp_path,
        {
            "visual": tiny_clip_dir,
            "local_files_only": "true",
            "backend": "onnxruntime",
            "cache_dir": tmp_path / "cache",
        },
    )
    r = runner.invoke(app, ["export", "-c", str(cfg), "--out", str(out)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["build", "-c", str(cfg)])
    assert r.exit_code == 0, r.output
    assert "backend onnxruntime (configured)" in r.output
    assert "int8 accepted" in r.output
    # With onnx_dir the exported fp32 graph is used as is (and checked against the model).
    cfg2 = _config(
        tmp_path,
        {
            "visual": tiny_clip_dir,
            "local_files_only": "true",
            "backend": "onnxruntime",
            "precision": "fp32",
            "onnx_dir": out,
        },
    )
    r = runner.invoke(app, ["build", "-c", str(cfg2)])
    assert r.exit_code == 0, r.output
    assert f"visual graph: {out / 'visual.onnx'}" in r.output


def test_onnx_from_another_model_is_refused(tiny_clip_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "graphs"
    r = runner.invoke(
        app, ["export", "-c", str(_config(tmp_path, {"visual": tiny_clip_dir})), "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    other = save_tiny_clip(tmp_path / "other-model", seed=7)
    cfg = _config(
        tmp_path, {"visual": other, "backend": "onnxruntime", "precision": "fp32", "onnx_dir": out}
    )
    r = runner.invoke(app, ["build", "-c", str(cfg)])
    assert r.exit_code == 2
    assert "was exported from another model" in r.output
    assert "re-run `vigil engines export`" in r.output


@pytest.mark.parametrize(
    ("clip", "message"),
    [
        (
            {"visual": "/nonexistent/clip-model"},
            "model.clip.visual: model folder /nonexistent/clip-model does not exist",
        ),
        (
            {"backend": "tensorrt", "device": "cpu"},
            "model.clip.backend: tensorrt cannot run here: device is cpu",
        ),
    ],
)
def test_bad_model_settings_exit_2_with_the_key(
    clip: dict[str, object], message: str, tiny_clip_dir: Path, tmp_path: Path
) -> None:
    clip = {"visual": tiny_clip_dir, **clip}
    r = CliRunner().invoke(app, ["build", "-c", str(_config(tmp_path, clip))])
    assert r.exit_code == 2
    assert message in r.output


def test_bad_config_file_exits_2_with_file_line_and_key(tmp_path: Path) -> None:
    cfg = _config(tmp_path, {"visual": "x", "precision": "int4"})
    r = CliRunner().invoke(app, ["export", "-c", str(cfg), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2
    assert f"{cfg}:5 model.clip.precision:" in r.output


def test_a_hub_id_is_not_downloaded_unless_asked_and_never_offline(tmp_path: Path) -> None:
    cfg = _config(tmp_path, {"visual": "openai/clip-vit-base-patch32", "threads": 1})
    env = {**OFFLINE, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_CACHE": str(tmp_path / "hf/hub")}
    base = ("engines", "build", "-c", str(cfg))
    plain = run_vigil(*base, env=env, timeout=120)
    assert plain.returncode == 2 and "downloads are off" in plain.stderr
    asked = run_vigil(*base, "--download", env=env, timeout=120)
    assert asked.returncode == 2
    assert "HF_HUB_OFFLINE is set, so --download cannot fetch anything" in asked.stderr
    assert "downloads are off" in asked.stderr  # offline: the same local-only error
