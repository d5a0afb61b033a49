"""``/metrics``: Prometheus text read live at scrape time, behind any role's token."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from conftest_cameras import Running, add_tokens, apps, ref_url, rtsp, vigil_config
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from detectors.types import IncidentUpdate, UpdateKind
from reports.types import Report, Severity
from storage.operator_store import OperatorStore
from storage.store import Store
from tests.streamer.streamer_testutil import RtspServer
from tests.support.wait import wait_until
from vigil.api.app import create_app

__all__ = ["apps", "rtsp"]  # fixtures

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: TestClient, headers: dict[str, str]) -> Samples:
    """Every sample of one scrape, by (name, sorted labels)."""
    resp = client.get("/metrics", headers=headers)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(resp.text)
        for s in family.samples
    }


def _update(incident_id: str, event_type: str, kind: UpdateKind, ts_s: float) -> IncidentUpdate:
    return IncidentUpdate(
        incident_id=incident_id,
        version=1,
        kind=kind,
        camera_id="cam",
        event_type=event_type,
        ts_s=ts_s,
        opened_ts_s=ts_s,
        closed_ts_s=ts_s if kind is UpdateKind.CLOSE else None,
        score=0.9,
        peak_score=0.9,
        mean_score=0.9,
    )


def _report(incident_id: str, latency_s: float) -> Report:
    return Report(
        incident_id=incident_id,
        incident_version=1,
        title="t",
        summary="s",
        severity=Severity.HIGH,
        action="a",
        backend="template",
        latency_s=latency_s,
    )


def test_database_figures_without_a_pipeline_and_auth_required(tmp_path: Path) -> None:
    cfg = vigil_config(tmp_path)
    now = [1000.0]
    with Store.open(cfg.storage, clock=lambda: now[0]) as store:
        store.upsert_camera(camera_id="cam", name="Cam", location=None, url_masked="a.mp4")
        store.record(_update("i1", "fall", UpdateKind.OPEN, 990.0), report=_report("i1", 0.5))
        now[0] = 1010.0
        store.record(_update("i2", "fire", UpdateKind.OPEN, 1005.0), report=_report("i2", 1.5))
        now[0] = 1030.0
        ops = OperatorStore(store)
        tokens = add_tokens(ops)
        client = TestClient(create_app(ops, cfg, media_dir=tmp_path / "media"))
        second = TestClient(create_app(ops, cfg, media_dir=tmp_path / "media"))  # no clash

        assert client.get("/metrics").status_code == 401
        bad = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401
        m = scrape(client, {"Authorization": f"Bearer {tokens['viewer']}"})
        assert m[("vigil_incidents", (("event_type", "fall"), ("status", "open")))] == 1
        assert m[("vigil_incidents", (("event_type", "fire"), ("status", "open")))] == 1
        assert m[("vigil_outbox_backlog", ())] == 4  # an incident and a report message each
        assert m[("vigil_outbox_oldest_unsent_age_seconds", ())] == 30.0  # written at 1000
        assert m[("vigil_reports_total", (("backend", "template"),))] == 2
        assert m[("vigil_report_latency_mean_seconds", (("backend", "template"),))] == 1.0
        assert m[("vigil_report_latency_last_seconds", (("backend", "template"),))] == 1.5
        assert (m[("vigil_database_up", ())], m[("vigil_sse_clients", ())]) == (1.0, 0.0)
        assert not any(n.startswith("vigil_camera") for n, _ in m)  # no pipeline here
        assert scrape(second, {"Authorization": f"Bearer {tokens['admin']}"}) == m
        assert REGISTRY.get_sample_value("vigil_outbox_backlog") is None  # not global


def test_live_camera_figures_from_a_running_app(
    tmp_path: Path, apps: Callable[..., Running], rtsp: RtspServer
) -> None:
    run = apps(vigil_config(tmp_path, f'[{{id: dock, url: "{ref_url(rtsp)}", fps: 2}}]'))
    viewer = run.auth("viewer")
    online = ("vigil_camera_state", (("camera", "dock"), ("state", "online")))

    rates = [(f"vigil_camera_{r}_fps", (("camera", "dock"),)) for r in ("input", "sampled")]

    def settled() -> Samples | None:
        m = scrape(run.client, viewer)
        ok = m.get(online) == 1 and m.get(("vigil_frames_scored_total", ()), 0) > 0
        return m if ok and all(m.get(r, 0) > 0 for r in rates) else None

    m = wait_until(settled, timeout_s=30, what="the camera online, measured and scored")
    assert m is not None
    assert m[("vigil_camera_state", (("camera", "dock"), ("state", "offline")))] == 0
    assert m[("vigil_camera_reconnects_total", (("camera", "dock"),))] == 0
    assert m[("vigil_scorer_last_batch_size", ())] >= 1
    assert m[("vigil_scorer_seconds_total", ())] > 0
    assert m[("vigil_pipeline_running", ())] == 1
    rtsp.kill()  # the camera drops: its state follows at the next scrape
    wait_until(
        lambda: scrape(run.client, viewer).get(online) == 0, timeout_s=30, what="camera offline"
    )


def test_drops_by_cause_and_states_of_each_camera() -> None:
    from types import SimpleNamespace

    from streamer.state import CameraState, CameraStatus
    from vigil.api.metrics import camera_metrics

    status = CameraStatus(
        camera_id="cam",
        url="rtsp://h/x",
        state=CameraState.STALLED,
        since_ts_s=0.0,
        reason="no data",
        last_frame_ts_s=None,
        input_fps=0.0,
        sampled_fps=0.0,
        reconnects=3,
        drops={"queue_full": 7, "late": 2},
    )
    app = SimpleNamespace(camera_statuses=lambda: {"cam": status})
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in camera_metrics(app)
        for s in family.samples
    }
    assert samples[("vigil_camera_drops_total", (("camera", "cam"), ("cause", "queue_full")))] == 7
    assert samples[("vigil_camera_drops_total", (("camera", "cam"), ("cause", "late")))] == 2
    assert samples[("vigil_camera_reconnects_total", (("camera", "cam"),))] == 3
    states = {k[1][1][1]: v for k, v in samples.items() if k[0] == "vigil_camera_state"}
    assert states == {s.value: float(s is CameraState.STALLED) for s in CameraState}
