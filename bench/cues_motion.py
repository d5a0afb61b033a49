"""Cost of the cue scorer's view-motion step per sample, beside the scorer's other work.

On a generated textured scene at the scorer's working size (480x360 from 640x480), a camera
that shakes and pans, per sample:

- ``register``: ORB features + RANSAC similarity to the reference view (phase correlation
  refinement, and the check against no motion), what ``ViewRegistrar.register`` does;
- ``phase``: phase correlation alone on the small copy (the low-texture fallback);
- ``stabilise``: the whole step (register, warp into the reference view, exposure correction);
- ``mog2``: the background model's ``apply`` on the same frame (the baseline the scorer had);
- ``scorer``: ``CueScorer.score`` on the full-size frame, everything included;
- ``scorer_still``: the same with the view-motion step replaced by a no-op (the baseline: the
  scorer as it was before the step, on the same frames).

Run: ``python bench/cues_motion.py [--samples 120]``. The last line holds ``key=value`` figures
(milliseconds per sample, medians).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import engines.cues.scorer as scorer_mod  # noqa: E402
from engines.cues import CueScorer  # noqa: E402
from engines.cues.motion import (  # noqa: E402
    IDENTITY,
    Stabilised,
    ViewRegistrar,
    ViewState,
    _phase,
    _small,
    new_view_state,
    stabilise,
)
from streamer.types import Frame  # noqa: E402


def frames(n: int) -> list[np.ndarray]:
    """``n`` 640x480 views of a textured world through a shaking, panning camera."""
    rng = np.random.default_rng(0)
    world = np.full((720, 1280, 3), 110, np.float32)
    for cells, amp in ((40, 14.0), (320, 8.0)):
        small = rng.normal(0, 1, (cells * 720 // 1280, cells, 3)).astype(np.float32)
        world += amp * cv2.resize(small, (1280, 720), interpolation=cv2.INTER_CUBIC)
    for _ in range(40):
        x, y = int(rng.integers(0, 1200)), int(rng.integers(0, 660))
        cv2.rectangle(world, (x, y), (x + 60, y + 40), rng.uniform(40, 200, 3).tolist(), -1)
    out = []
    for i in range(n):
        cx = 640 + 2.0 * i + rng.uniform(-4, 4)
        cy = 360 + rng.uniform(-4, 4)
        m = np.array([[1.0, 0, cx - 320], [0, 1.0, cy - 240]])
        view = cv2.warpAffine(world, m, (640, 480), flags=cv2.WARP_INVERSE_MAP)
        view += rng.normal(0, 3, view.shape)
        out.append(np.clip(view, 0, 255).astype(np.uint8))
    return out


def timed(fn: Callable[[int], object], n: int) -> float:
    """Median milliseconds of ``fn(i)`` over ``n`` calls (after two warm-up calls)."""
    fn(0)
    fn(1 % n)
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def no_motion(
    vs: ViewState, img: np.ndarray, gray: np.ndarray, pts_s: float, dt: float
) -> Stabilised:
    """The view-motion step as a no-op: the frame as it came, a still view."""
    h, w = gray.shape
    return Stabilised(
        img, gray, img, (0, 0, w, h), 0.0, 1.0, 1.0, False, False, False, False, False
    )


def main() -> None:
    """Time each step and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=120)
    ap.add_argument("--threads", type=int, default=1, help="OpenCV threads")
    args = ap.parse_args()
    cv2.setNumThreads(args.threads)
    n = args.samples
    big = frames(n)
    small = [cv2.resize(f, (480, 360), interpolation=cv2.INTER_AREA) for f in big]
    grays = [cv2.GaussianBlur(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY), (5, 5), 0) for f in small]

    reg = ViewRegistrar()
    reg.set_reference(grays[0])
    ref = reg.ref
    assert ref is not None
    vs = new_view_state()
    bg = cv2.createBackgroundSubtractorMOG2(history=500, varThreshold=20, detectShadows=True)
    scorer = CueScorer()
    figures = {
        "register_ms": timed(lambda i: reg.register(grays[i]), n),
        "phase_ms": timed(lambda i: _phase(*_small(grays[i]), ref, IDENTITY), n),
        "stabilise_ms": timed(lambda i: stabilise(vs, small[i], grays[i], i / 2, 0.5), n),
        "mog2_ms": timed(lambda i: bg.apply(small[i], learningRate=0.01), n),
        "scorer_ms": timed(
            lambda i: scorer.score(Frame("bench", i, i / 2, 1000 + i / 2, big[i])), n
        ),
    }
    scorer_mod.stabilise = no_motion  # type: ignore[assignment]
    still = CueScorer()
    figures["scorer_still_ms"] = timed(
        lambda i: still.score(Frame("bench", i, i / 2, 1000 + i / 2, big[i])), n
    )
    for k, v in figures.items():
        print(f"{k:14s} {v:7.2f} ms/sample")
    share = figures["stabilise_ms"] / max(figures["scorer_ms"], 1e-9)
    ratio = figures["scorer_ms"] / max(figures["scorer_still_ms"], 1e-9)
    tail = f" stabilise_share={share:.2f} scorer_vs_still={ratio:.2f}"
    print(" ".join(f"{k}={v:.2f}" for k, v in figures.items()) + tail)


if __name__ == "__main__":
    main()
