"""The ``clip`` scorer: visual encoder (batched across cameras) -> zero-shot or temporal heads.

Per camera the scorer keeps the embeddings and per-frame results of the frames of its current
window (keyed by frame ``seq``), the zero-shot baseline and the motion-gate reference; frames
of the window that were never scored (e.g. before the scorer started) take no part.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from engines.backends.base import Backend
from engines.batcher import BatcherStats, BatchFailed, CrossCameraBatcher, Dropped
from engines.clip.gate import MotionGate
from engines.clip.preprocess import PreprocessSpec, preprocess_bgr
from engines.clip.temporal import window_batch
from engines.clip.zeroshot import (
    PromptBank,
    RunningBaseline,
    aggregate_window,
    frame_probabilities,
)
from engines.errors import BackendError, EngineError
from engines.settings import ClipConfig
from engines.types import Scores
from streamer.types import Frame, Window

log = logging.getLogger(__name__)

#: Longest a score_batch call waits for its embeddings before giving up (stops hangs).
ENCODE_TIMEOUT_S = 300.0


@dataclass
class _Record:
    seq: int
    pts_s: float
    emb: np.ndarray
    probs: np.ndarray | None  # zero-shot: per-event frame probability
    score: np.ndarray | None  # zero-shot: per-event calibrated frame score
    baseline: np.ndarray | None


@dataclass
class _Camera:
    records: dict[int, _Record] = field(default_factory=dict)
    baseline: RunningBaseline | None = None
    last_emb: np.ndarray | None = None


@dataclass
class _Plan:
    """What score_batch decided for each frame of a batch before encoding."""

    emb: list[np.ndarray | None]  # known embeddings (repeated or gated frames)
    gated: np.ndarray  # bool per frame
    diffs: np.ndarray  # motion-gate changed fraction per frame
    encode: list[int]  # frames submitted to the encoder
    ref_of: dict[int, int]  # gated frame -> frame of this batch whose embedding it takes
    futures: list[Future[np.ndarray]]


@dataclass
class ClipScorerStats:
    """Frame counters since start."""

    frames: int = 0
    encoded: int = 0
    gated: int = 0  # static frames that reused the camera's last embedding
    dropped: int = 0  # frames the batcher dropped (their camera's last embedding was reused)
    repeated: int = 0  # frames scored before (same seq), answered from memory


class ClipScorer:
    """Scores windows with a CLIP/SigLIP visual encoder and zero-shot or trained temporal heads.

    Build it with :func:`build_clip_scorer`; the constructor takes ready components.
    """

    name = "clip"

    def __init__(
        self,
        cfg: ClipConfig,
        *,
        preprocess: PreprocessSpec,
        visual: Backend,
        embed_dim: int,
        bank: PromptBank | None = None,
        temporal: Backend | None = None,
        temporal_events: Sequence[str] = (),
        temporal_window: int = 16,
        description: str = "",
    ) -> None:
        if (bank is None) == (temporal is None):
            raise ValueError("ClipScorer needs exactly one of bank (zero-shot) or temporal")
        self.cfg = cfg
        self.preprocess = preprocess
        self.visual = visual
        self.temporal = temporal
        self.bank = bank
        self.embed_dim = embed_dim
        self.description = description
        self._events = tuple(bank.events if bank is not None else temporal_events)
        self._temporal_window = temporal_window
        self._gate = MotionGate(cfg.motion_gate)
        self._cams: dict[str, _Camera] = {}
        self._lock = threading.RLock()
        self._stats = ClipScorerStats()
        self._batcher = CrossCameraBatcher(
            lambda x: self.visual.run({"pixel_values": x}),
            max_batch=cfg.batch.max_batch,
            max_wait_ms=cfg.batch.max_wait_ms,
            queue_size=cfg.batch.queue_size,
            name="clip-visual-batcher",
        ).start()
        self._closed = False

    @property
    def events(self) -> tuple[str, ...]:
        """Event types this scorer reports."""
        return self._events

    @property
    def mode(self) -> str:
        """``zeroshot`` or ``temporal``."""
        return "zeroshot" if self.bank is not None else "temporal"

    def stats(self) -> ClipScorerStats:
        """A snapshot of the frame counters."""
        with self._lock:
            return ClipScorerStats(**vars(self._stats))

    def batcher_stats(self) -> BatcherStats:
        """Counters of the cross-camera batcher (batches, largest batch, drops by camera)."""
        return self._batcher.stats()

    # -- scoring ---------------------------------------------------------------------------
    def score_batch(self, frames: Sequence[Frame], windows: Sequence[Window]) -> list[Scores]:
        """Score the newest frame of each window (frames may come from several cameras)."""
        if len(frames) != len(windows):
            raise ValueError(f"score_batch got {len(frames)} frames but {len(windows)} windows")
        for f, w in zip(frames, windows, strict=True):
            if f.camera_id != w.camera_id:
                raise ValueError(
                    f"score_batch: frame of camera {f.camera_id!r} paired with the window of "
                    f"{w.camera_id!r}"
                )
        if not frames:
            return []
        # Decide and submit under the lock, wait without it (so that concurrent callers'
        # frames meet in the batcher), then update per-camera state under it again.
        with self._lock:
            if self._closed:
                raise EngineError("clip scorer is closed")
            plan = self._plan(frames)
        results = self._wait(plan)
        with self._lock:
            emb = self._apply(frames, plan, results)
            if self.bank is not None:
                return self._zeroshot(frames, windows, emb, plan.gated, plan.diffs)
            return self._temporal(frames, windows, emb, plan.gated, plan.diffs)

    def _plan(self, frames: Sequence[Frame]) -> _Plan:
        n = len(frames)
        self._stats.frames += n
        plan = _Plan([None] * n, np.zeros(n, bool), np.ones(n, np.float32), [], {}, [])
        pending: dict[str, int] = {}  # camera -> its frame being encoded in this batch
        for i, f in enumerate(frames):
            cam = self._cams.setdefault(f.camera_id, _Camera())
            rec = cam.records.get(f.seq)
            if rec is not None and abs(rec.pts_s - f.pts_s) < 1e-9:
                plan.emb[i] = rec.emb
                self._stats.repeated += 1
                continue
            d = self._gate.decide(f.camera_id, f.image, f.pts_s)
            plan.diffs[i] = d.changed_frac
            if d.static and (f.camera_id in pending or cam.last_emb is not None):
                plan.gated[i] = True
                self._stats.gated += 1
                if f.camera_id in pending:
                    plan.ref_of[i] = pending[f.camera_id]
                else:
                    plan.emb[i] = cam.last_emb
                continue
            plan.encode.append(i)
            self._gate.encoded(f.camera_id, d.thumb, f.pts_s)
            pending[f.camera_id] = i
        if plan.encode:
            pixels = preprocess_bgr(
                [frames[i].image for i in plan.encode], self.preprocess, self.cfg.resize
            )
            plan.futures = self._batcher.submit_many(
                [(frames[i].camera_id, pixels[k]) for k, i in enumerate(plan.encode)], flush=True
            )
        return plan

    @staticmethod
    def _wait(plan: _Plan) -> list[np.ndarray | None]:
        """Embeddings of the submitted frames; None for a frame the batcher dropped."""
        out: list[np.ndarray | None] = []
        for fut in plan.futures:
            try:
                out.append(np.asarray(fut.result(timeout=ENCODE_TIMEOUT_S), np.float32))
            except Dropped:
                out.append(None)
            except BatchFailed as exc:
                raise BackendError(f"clip visual encoder failed: {exc.__cause__ or exc}") from exc
            except TimeoutError as exc:
                raise BackendError(
                    f"clip visual encoder produced nothing within {ENCODE_TIMEOUT_S:.0f}s"
                ) from exc
        return out

    def _apply(
        self, frames: Sequence[Frame], plan: _Plan, results: list[np.ndarray | None]
    ) -> list[np.ndarray | None]:
        emb = list(plan.emb)
        for i, e in zip(plan.encode, results, strict=True):
            f = frames[i]
            if e is not None:
                emb[i] = e
                self._stats.encoded += 1
            else:  # dropped: reuse the camera's last embedding, re-encode the next frame
                self._stats.dropped += 1
                self._gate.reset(f.camera_id)
                emb[i] = self._cams.setdefault(f.camera_id, _Camera()).last_emb
        for i, j in plan.ref_of.items():
            emb[i] = emb[j]
        return emb

    def _window_records(self, cam: _Camera, window: Window, newest: _Record) -> list[_Record]:
        seqs = {f.seq for f in window.frames}
        seqs.add(newest.seq)
        for s in [s for s in cam.records if s not in seqs]:
            del cam.records[s]
        return sorted(cam.records.values(), key=lambda r: r.pts_s)

    def _zeroshot(
        self,
        frames: Sequence[Frame],
        windows: Sequence[Window],
        emb: list[np.ndarray | None],
        gated: np.ndarray,
        diffs: np.ndarray,
    ) -> list[Scores]:
        assert self.bank is not None
        bank = self.bank
        have = [i for i, e in enumerate(emb) if e is not None]
        probs_all = np.zeros((len(frames), len(bank.events)), np.float32)
        if have:
            probs_all[have] = frame_probabilities(bank, np.stack([emb[i] for i in have]))  # type: ignore[misc]
        out = []
        for i, (f, w) in enumerate(zip(frames, windows, strict=True)):
            cam = self._cams.setdefault(f.camera_id, _Camera())
            e = emb[i]
            if e is None:
                out.append(self._empty(f, gated[i], diffs[i]))
                continue
            rec = cam.records.get(f.seq)
            if rec is None or rec.probs is None:
                if cam.baseline is None:
                    cam.baseline = RunningBaseline(
                        bank.prior,
                        self.cfg.zeroshot.baseline_rise_s,
                        self.cfg.zeroshot.baseline_fall_s,
                    )
                probs = probs_all[i]
                base = cam.baseline.value.copy()
                score = cam.baseline.calibrate(probs)
                cam.baseline.update(probs, f.pts_s)
                rec = _Record(f.seq, f.pts_s, e, probs, score, base)
                cam.records[f.seq] = rec
                cam.last_emb = e
            recs = [r for r in self._window_records(cam, w, rec) if r.score is not None]
            agg = aggregate_window(
                [r.score for r in recs],  # type: ignore[misc]
                [r.pts_s for r in recs],
                self.cfg.zeroshot.half_life_s,
            )
            cues: dict[str, float] = {
                "motion_gated": float(gated[i]),
                "motion_changed_frac": float(diffs[i]),
                "window_frames_scored": float(len(recs)),
            }
            assert rec.probs is not None and rec.score is not None and rec.baseline is not None
            for k, ev in enumerate(bank.events):
                cues[f"{ev}_frame_prob"] = float(rec.probs[k])
                cues[f"{ev}_baseline_prob"] = float(rec.baseline[k])
                cues[f"{ev}_frame_score"] = float(rec.score[k])
            events = {ev: _unit(agg[k]) for k, ev in enumerate(bank.events)}
            out.append(self._scores(f, events, cues))
        return out

    def _temporal(
        self,
        frames: Sequence[Frame],
        windows: Sequence[Window],
        emb: list[np.ndarray | None],
        gated: np.ndarray,
        diffs: np.ndarray,
    ) -> list[Scores]:
        assert self.temporal is not None
        rows: list[int] = []
        histories: list[list[np.ndarray]] = []
        for i, (f, w) in enumerate(zip(frames, windows, strict=True)):
            e = emb[i]
            if e is None:
                continue
            cam = self._cams.setdefault(f.camera_id, _Camera())
            rec = cam.records.get(f.seq)
            if rec is None:
                rec = _Record(f.seq, f.pts_s, e, None, None, None)
                cam.records[f.seq] = rec
                cam.last_emb = e
            histories.append([r.emb for r in self._window_records(cam, w, rec)])
            rows.append(i)
        logits = np.zeros((0, len(self._events)), np.float32)
        if rows:
            t_emb, t_mask = window_batch(histories, self._temporal_window, self.embed_dim)
            logits = self.temporal.run({"embeddings": t_emb, "mask": t_mask})
        probs = 1.0 / (1.0 + np.exp(-np.clip(logits, -60.0, 60.0)))
        by_row = {i: k for k, i in enumerate(rows)}
        out = []
        for i, f in enumerate(frames):
            if i not in by_row:
                out.append(self._empty(f, gated[i], diffs[i]))
                continue
            k = by_row[i]
            cues = {
                "motion_gated": float(gated[i]),
                "motion_changed_frac": float(diffs[i]),
                "window_frames_scored": float(min(len(histories[k]), self._temporal_window)),
            }
            events = {ev: _unit(probs[k, j]) for j, ev in enumerate(self._events)}
            out.append(self._scores(f, events, cues))
        return out

    def _empty(self, f: Frame, gated: bool, diff: float) -> Scores:
        return self._scores(
            f,
            dict.fromkeys(self._events, 0.0),
            {
                "motion_gated": float(gated),
                "motion_changed_frac": float(diff),
                "encoder_dropped": 1.0,
            },
        )

    def _scores(self, f: Frame, events: dict[str, float], cues: dict[str, float]) -> Scores:
        return Scores(
            camera_id=f.camera_id,
            seq=f.seq,
            pts_s=f.pts_s,
            ts_s=f.ts_s,
            events=events,
            cues=cues,
            scorer=self.name,
        )

    # -- lifecycle -------------------------------------------------------------------------
    def reset(self, camera_id: str) -> None:
        """Forget a camera's embeddings, baseline and motion-gate reference."""
        with self._lock:
            self._cams.pop(camera_id, None)
            self._gate.reset(camera_id)

    def close(self) -> None:
        """Stop the batcher and release the runtimes (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._batcher.close(drain=False)
        self.visual.close()
        if self.temporal is not None:
            self.temporal.close()
        log.info("clip scorer closed: %s", self._stats)


def _unit(x: float | np.floating) -> float:
    v = float(x)
    if not np.isfinite(v):
        return 0.0
    return min(1.0, max(0.0, v))
