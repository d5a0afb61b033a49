"""``/metrics``: Prometheus text, read live at scrape time from the pipeline and the database.

One :class:`VigilCollector` per API app, in the app's own ``CollectorRegistry`` (no global
state): every scrape reads the cameras' health, the run's counters and a few database figures.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from streamer.state import CameraState
from vigil.api.deps import State, Viewer
from vigil.api.state import ApiState

log = logging.getLogger(__name__)

router = APIRouter(tags=["system"])


class VigilCollector(Collector):
    """The service's figures, collected from ``state`` when Prometheus scrapes."""

    def __init__(self, state: ApiState) -> None:
        """Read from ``state`` (its ``app`` may be None: the pipeline runs elsewhere)."""
        self.state = state

    def collect(self) -> Iterator[Metric]:
        """Every family, from the pipeline (if here) and the database."""
        sse = GaugeMetricFamily("vigil_sse_clients", "Connected live-feed clients.")
        sse.add_metric([], float(self.state.sse_clients[0]))
        yield sse
        if self.state.app is not None:
            yield from camera_metrics(self.state.app)
            yield from run_metrics(self.state.app)
        try:
            families = list(database_metrics(self.state))
        except Exception as exc:  # a scrape still answers while the database is down
            log.warning("metrics: database figures unavailable: %s", exc)
            families = []
        yield from families
        yield GaugeMetricFamily(
            "vigil_database_up",
            "1 if the database answered the scrape.",
            value=float(bool(families)),
        )


def camera_metrics(app: Any) -> Iterator[Metric]:
    """Per camera: state, measured rates, drops by cause, reconnects, decode CPU."""
    state = GaugeMetricFamily(
        "vigil_camera_state", "1 for the camera's current state.", labels=["camera", "state"]
    )
    sampled = GaugeMetricFamily(
        "vigil_camera_sampled_fps", "Samples per second handed over.", labels=["camera"]
    )
    inp = GaugeMetricFamily(
        "vigil_camera_input_fps", "Packets per second of the source.", labels=["camera"]
    )
    drops = CounterMetricFamily(
        "vigil_camera_drops", "Frames dropped, by cause.", labels=["camera", "cause"]
    )
    reconnects = CounterMetricFamily(
        "vigil_camera_reconnects", "Re-open attempts after the first.", labels=["camera"]
    )
    cpu = CounterMetricFamily(
        "vigil_camera_decode_cpu_seconds",
        "CPU seconds of the camera's reader thread: demux, decode, sampling.",
        labels=["camera"],
    )
    for cid, st in sorted(app.camera_statuses().items()):
        for s in CameraState:
            state.add_metric([cid, s.value], 1.0 if st.state is s else 0.0)
        sampled.add_metric([cid], float(st.sampled_fps))
        inp.add_metric([cid], float(st.input_fps))
        for cause, n in sorted(st.drops.items()):
            drops.add_metric([cid, cause], float(n))
        reconnects.add_metric([cid], float(st.reconnects))
        cpu.add_metric([cid], float(st.decode_cpu_s))
    yield from (state, sampled, inp, drops, reconnects, cpu)


def run_metrics(app: Any) -> Iterator[Metric]:
    """The inference loop's counters and the scorer's batch size and latency."""
    stats = app.stats
    counters = {
        "vigil_frames_scored": ("Frames scored.", stats.frames),
        "vigil_batches_scored": ("Batches scored.", stats.batches),
        "vigil_scorer_errors": ("Frames lost to a failing scorer batch.", stats.scorer_errors),
        "vigil_incident_updates": ("Incident updates accepted.", stats.updates),
        "vigil_lost_updates": ("Updates neither journal nor database kept.", stats.lost),
        "vigil_scorer_seconds": ("Seconds spent scoring.", stats.score_s),
    }
    for name, (doc, value) in counters.items():
        yield CounterMetricFamily(name, doc, value=float(value))
    yield GaugeMetricFamily(
        "vigil_scorer_last_batch_size", "Frames in the last scored batch.", value=stats.last_batch
    )
    yield GaugeMetricFamily(
        "vigil_scorer_last_batch_seconds",
        "Seconds the last batch took to score.",
        value=stats.last_score_s,
    )
    yield GaugeMetricFamily(
        "vigil_pipeline_running", "1 while the pipeline runs.", value=float(bool(app.running))
    )


def database_metrics(state: ApiState) -> Iterator[Metric]:
    """Incidents by type and status, the outbox backlog and its age, report latency."""
    ops = state.ops
    incidents = GaugeMetricFamily(
        "vigil_incidents", "Incidents, by event type and status.", labels=["event_type", "status"]
    )
    for event_type, status, n in ops.incident_counts():
        incidents.add_metric([event_type, status], float(n))
    yield incidents
    yield GaugeMetricFamily(
        "vigil_outbox_backlog", "Outbox rows waiting to be sent.", value=ops.store.outbox_backlog()
    )
    oldest = ops.store.outbox_oldest_unsent_ts()
    age = 0.0 if oldest is None else max(0.0, ops.now_s() - oldest)
    yield GaugeMetricFamily(
        "vigil_outbox_oldest_unsent_age_seconds", "Age of the oldest unsent outbox row.", value=age
    )
    count = CounterMetricFamily("vigil_reports", "Reports stored, by backend.", labels=["backend"])
    mean = GaugeMetricFamily(
        "vigil_report_latency_mean_seconds", "Mean report latency.", labels=["backend"]
    )
    last = GaugeMetricFamily(
        "vigil_report_latency_last_seconds", "Latency of the newest report.", labels=["backend"]
    )
    for backend, n, mean_s, last_s in ops.report_latency():
        count.add_metric([backend], float(n))
        mean.add_metric([backend], mean_s)
        last.add_metric([backend], last_s)
    yield from (count, mean, last)


def registry_for(state: ApiState) -> CollectorRegistry:
    """A fresh registry holding this app's collector only."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(VigilCollector(state))
    return registry


@router.get("/metrics", response_class=Response)
def metrics(state: State, _principal: Viewer) -> Response:
    """Prometheus text exposition (any role; a bearer token or a session)."""
    started = time.perf_counter()
    body = generate_latest(state.metrics)
    log.debug("metrics scraped in %.3f s", time.perf_counter() - started)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
