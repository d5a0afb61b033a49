"""`vigil run` end to end on the clip profile with a tiny CLIP model and a generated H.264 clip."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import av
import numpy as np

REPO = Path(__file__).resolve().parents[2]


def write_clip(path: Path, *, seconds: float = 4.0, fps: int = 10) -> Path:
    """Grey background, static for 1.5 s, then a red block sliding across."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.options = {"g": str(fps), "keyint_min": str(fps), "sc_threshold": "0", "bf": "0"}
        for i in range(int(seconds * fps)):
            img = np.full((120, 160, 3), 90, np.uint8)
            if i >= 1.5 * fps:
                x = 10 + 3 * i
                img[30:90, x : x + 40] = (0, 0, 255)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def test_vigil_run_on_the_clip_profile(tiny_clip_dir: Path, tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "cam.mp4")
    cfg = tmp_path / "vigil.yaml"
    cfg.write_text(
        f"""
storage:
  database_url: "sqlite:///{tmp_path / "vigil.db"}"
  media_dir: {tmp_path / "media"}
model:
  profile: clip
  clip:
    visual: {tiny_clip_dir}
    local_files_only: true
    cache_dir: {tmp_path / "engines"}
    threads: 1
cameras:
  - id: cam1
    url: {clip}
    fps: 5
    events:
      intrusion: {{threshold: 0.0, min_duration_s: 0.0}}
"""
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["HF_HUB_OFFLINE"] = "1"
    proc = subprocess.run(
        [sys.executable, "-m", "vigil", "run", "-c", str(cfg), "--fast"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=240,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert "profile clip" in log
    assert "clip visual encoder on onnxruntime" in log  # auto, no TensorRT here
    m = re.search(r"processed (\d+) frame\(s\)", log)
    assert m and int(m.group(1)) >= 15, log[-2000:]
    # the motion gate skipped the static start and the encoder ran once the block moved
    st = re.search(r"ClipScorerStats\(frames=(\d+), encoded=(\d+), gated=(\d+)", log)
    assert st, log[-2000:]
    frames, encoded, gated = map(int, st.groups())
    assert frames == int(m.group(1)) and encoded >= 5 and gated >= 3
    # scores flowed on to the detectors: the always-active intrusion rule opened an incident
    assert re.search(r"OPEN\s+intrusion\s+camera=cam1", proc.stdout), log[-2000:]
