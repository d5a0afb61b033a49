"""Run :class:`~vigil.app.App` on each labelled clip, in-process, and collect what it saw.

Each clip gets its own App with a one-camera config built from the evaluated config (its
model and the camera's event rules), a SQLite database, journal and media folder in a
temporary folder, the template reports and the in-process bus, played as fast as decoding
allows (``pace=False``, as ``vigil run --fast``). The scorer is wrapped so that every frame's
scores are kept (the hook needs nothing from the engines), and an ``App.subscribe`` listener
keeps the incidents: opened at the onset's stream time, closed at the close's wall time less
the camera's start time (set in the config, so stream and wall time differ by a constant).
Clips run in a process pool (``jobs``), one App per clip.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from detectors.settings import EventConfig, ZoneConfig
from detectors.types import IncidentUpdate, UpdateKind
from engines.factory import build_scorer
from engines.types import Scorer, Scores
from reports.types import Report
from streamer.types import Frame, Window
from vigil.config import CameraConfig, VigilConfig
from vigil.evaluation.types import ClipResult, Incident, LabelledClip

log = logging.getLogger(__name__)

#: Wall-clock time given to the first frame of every clip (any fixed time works).
START_WALL_S = 1_700_000_000.0


@dataclass(frozen=True)
class RunSettings:
    """How each clip is run: the base config, the event rules, the sampling rate and pace."""

    config: VigilConfig
    rules: Mapping[str, EventConfig] = field(default_factory=dict)
    fps: float = 2.0
    #: False: as fast as decoding allows (``--fast``); True: at the clip's own pace
    pace: bool = False
    #: the evaluated camera's zones and masks
    zones: Sequence[ZoneConfig] = ()


class RecordingScorer:
    """A scorer that keeps every frame's scores of the inner scorer (stream time, score)."""

    def __init__(self, inner: Scorer, events: Sequence[str]) -> None:
        self.inner = inner
        self.name = inner.name
        self.wanted = tuple(events)
        self.scores: dict[str, list[tuple[float, float]]] = {ev: [] for ev in self.wanted}
        self.frames = 0
        self.last_pts_s = 0.0

    @property
    def events(self) -> tuple[str, ...]:
        """The inner scorer's event types."""
        return self.inner.events

    def score_batch(self, frames: Sequence[Frame], windows: Sequence[Window]) -> list[Scores]:
        """Score with the inner scorer and keep the scores."""
        out = self.inner.score_batch(frames, windows)
        for sc in out:
            self.frames += 1
            self.last_pts_s = max(self.last_pts_s, sc.pts_s)
            for ev in self.wanted:
                self.scores[ev].append((round(sc.pts_s, 3), round(sc.score(ev), 4)))
        return out

    def reset(self, camera_id: str) -> None:
        """Forward to the inner scorer."""
        self.inner.reset(camera_id)

    def close(self) -> None:
        """Forward to the inner scorer."""
        self.inner.close()


class IncidentLog:
    """An ``App`` listener that keeps the incidents of one clip in stream seconds."""

    def __init__(self, start_wall_s: float) -> None:
        self.start_wall_s = start_wall_s
        self._open: dict[str, Incident] = {}
        self.incidents: list[Incident] = []

    def __call__(self, update: IncidentUpdate, report: Report | None) -> None:
        """Record an OPEN or CLOSE update."""
        if update.kind is UpdateKind.OPEN:
            inc = Incident(update.event_type, round(update.onset_pts_s, 3), None, update.peak_score)
            self._open[update.incident_id] = inc
            self.incidents.append(inc)
        elif update.kind is UpdateKind.CLOSE:
            old = self._open.pop(update.incident_id, None)
            closed = update.closed_ts_s if update.closed_ts_s is not None else update.ts_s
            inc = Incident(
                update.event_type,
                old.opened_s if old is not None else round(update.onset_pts_s, 3),
                round(closed - self.start_wall_s, 3),
                update.peak_score,
            )
            if old is not None:
                self.incidents[self.incidents.index(old)] = inc
            else:
                self.incidents.append(inc)


def clip_config(settings: RunSettings, clip: LabelledClip, workdir: Path) -> VigilConfig:
    """The one-camera config a clip runs with (its storage under ``workdir``)."""
    from reports.settings import ReportsConfig
    from storage.settings import BusConfig, StorageConfig
    from vigil.api.settings import ApiConfig

    base = settings.config
    start = dt.datetime.fromtimestamp(START_WALL_S, tz=dt.UTC).isoformat()
    camera = CameraConfig(
        id="eval",
        name=clip.name[:128],
        url=str(clip.path),
        fps=settings.fps,
        start_time=start,
        events=dict(settings.rules),
        zones=list(settings.zones),
    )
    storage = StorageConfig(
        database_url=f"sqlite:///{workdir / 'eval.db'}",
        media_dir=str(workdir / "media"),
        journal_dir=str(workdir / "journal"),
        media=base.storage.media,
    )
    return base.model_copy(
        update={
            "storage": storage,
            "bus": BusConfig(),
            "reports": ReportsConfig(),
            "api": ApiConfig(enabled=False),
            "cameras": [camera],
        }
    )


def run_clip(clip: LabelledClip, settings: RunSettings) -> ClipResult:
    """Run one clip to its end; errors are kept in the result, never raised."""
    from vigil.app import App

    started = time.perf_counter()
    result = ClipResult(clip)
    result.thresholds = {ev: rule.resolved(ev).threshold for ev, rule in settings.rules.items()}
    try:
        with tempfile.TemporaryDirectory(prefix="vigil-eval-") as tmp:
            cfg = clip_config(settings, clip, Path(tmp))
            scorer = RecordingScorer(build_scorer(cfg.model), list(settings.rules))
            incidents = IncidentLog(START_WALL_S)
            app = App(cfg, pace=settings.pace, scorer=scorer)
            app.subscribe(incidents)
            try:
                app.start()
                app.run()
            finally:
                app.stop()
                scorer.close()
            result.incidents = incidents.incidents
            result.scores = scorer.scores
            result.frames = scorer.frames
            result.duration_s = probe_duration(clip.path) or scorer.last_pts_s
            if scorer.frames == 0:
                result.error = "no frame could be read"
    except Exception as exc:
        log.debug("clip %s failed", clip.name, exc_info=True)
        result.error = f"{type(exc).__name__}: {exc}"
    result.wall_s = time.perf_counter() - started
    return result


def probe_duration(path: Path) -> float | None:
    """The clip's duration in seconds from its container (None: unknown)."""
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            if stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
            if container.duration is not None:
                return container.duration / 1_000_000
    except (OSError, ValueError, IndexError, av.error.FFmpegError):
        return None
    return None


def _worker_init(level: int) -> None:
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(level)


def default_jobs() -> int:
    """``min(cpu, 4)`` clips at once."""
    return max(1, min(os.cpu_count() or 1, 4))


def run_all(
    clips: Sequence[LabelledClip],
    settings: RunSettings,
    *,
    jobs: int,
    on_done: Callable[[ClipResult], None] | None = None,
) -> list[ClipResult]:
    """Run every clip (``jobs`` at once in worker processes); results in the clips' order."""
    results: dict[int, ClipResult] = {}
    for idx, res in _results(clips, settings, jobs):
        results[idx] = res
        if on_done is not None:
            on_done(res)
    return [results[i] for i in range(len(clips))]


def _results(
    clips: Sequence[LabelledClip], settings: RunSettings, jobs: int
) -> Iterator[tuple[int, ClipResult]]:
    if jobs <= 1 or len(clips) <= 1:
        for i, clip in enumerate(clips):
            yield i, run_clip(clip, settings)
        return
    level = logging.getLogger().getEffectiveLevel()
    with ProcessPoolExecutor(
        max_workers=min(jobs, len(clips)),
        mp_context=get_context("spawn"),
        initializer=_worker_init,
        initargs=(level,),
    ) as pool:
        futures = {pool.submit(run_clip, clip, settings): i for i, clip in enumerate(clips)}
        for fut in as_completed(futures):
            yield futures[fut], fut.result()
