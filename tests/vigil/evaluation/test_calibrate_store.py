"""``vigil calibrate`` on a real SQLite store: incidents recorded and dispositioned through the
real store and workflow functions, read back by the calibration query and the command."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from detectors.types import IncidentUpdate, UpdateKind
from storage.operator_store import OperatorStore
from storage.repo_workflow import Action, Disposition
from storage.settings import StorageConfig
from storage.store import Store
from tests.support.cli import run_vigil
from vigil.evaluation.calibration import read_thresholds

#: the cameras are registered 10 hours before each test (the command reads the wall clock)
HOURS = 10

#: (incident, camera, event, peak, disposition or None)
HISTORY: list[tuple[str, str, str, float, Disposition | None]] = [
    ("a-fa-1", "cam-a", "fall", 0.64, Disposition.FALSE_ALARM),
    ("a-fa-2", "cam-a", "fall", 0.72, Disposition.FALSE_ALARM),
    ("a-fa-3", "cam-a", "fall", 0.68, Disposition.FALSE_ALARM),
    ("a-ta-1", "cam-a", "fall", 0.91, Disposition.TRUE_ALARM),
    ("a-ta-2", "cam-a", "fall", 0.86, Disposition.TRUE_ALARM),
    ("a-nuisance", "cam-a", "fall", 0.99, Disposition.NUISANCE),
    ("a-open", "cam-a", "fall", 0.97, None),
    ("b-fa-1", "cam-b", "fire", 0.7, Disposition.FALSE_ALARM),
    ("b-ta-1", "cam-b", "fire", 0.9, Disposition.TRUE_ALARM),
]


def _update(
    incident_id: str, camera: str, event: str, peak: float, opened: float
) -> IncidentUpdate:
    return IncidentUpdate(
        incident_id=incident_id,
        version=1,
        kind=UpdateKind.OPEN,
        camera_id=camera,
        event_type=event,
        ts_s=opened,
        opened_ts_s=opened,
        closed_ts_s=None,
        score=peak,
        peak_score=peak,
        mean_score=peak * 0.9,
    )


@pytest.fixture
def t0() -> float:
    """When the cameras were registered: HOURS before the test starts."""
    return float(int(time.time()) - HOURS * 3600)


@pytest.fixture
def db(tmp_path: Path, t0: float) -> Iterator[str]:
    """A SQLite database with HISTORY recorded and dispositioned; its URL."""
    url = f"sqlite:///{tmp_path / 'vigil.db'}"
    T0 = t0
    clock = [T0]
    store = Store.open(StorageConfig(database_url=url), clock=lambda: clock[0])
    try:
        for cam in ("cam-a", "cam-b"):
            store.upsert_camera(camera_id=cam, name=cam, location=None, url_masked=f"rtsp://{cam}")
        ops = OperatorStore(store)
        for i, (inc, cam, ev, peak, disp) in enumerate(HISTORY):
            clock[0] = T0 + 600 * (i + 1)
            store.record(_update(inc, cam, ev, peak, clock[0]))
            if disp is not None:
                ops.act(inc, Action.RESOLVE, actor="olga", disposition=disp)
        yield url
    finally:
        store.close()


def test_the_query_reads_true_and_false_alarms_with_their_peaks(db: str, t0: float) -> None:
    T0, NOW = t0, t0 + HOURS * 3600
    store = Store.open(StorageConfig(database_url=db), create_if_empty=False, clock=lambda: NOW)
    try:
        rows, hours = OperatorStore(store).calibration_data()
        late_rows, late_hours = OperatorStore(store).calibration_data(since_ts_s=T0 + 3000)
    finally:
        store.close()
    want = [(i, c, e, p, d.value) for i, c, e, p, d in HISTORY if d in _LEARNED]
    assert [
        (r.incident_id, r.camera_id, r.event_type, r.peak_score, r.disposition) for r in rows
    ] == want
    assert hours == {"cam-a": pytest.approx(10.0), "cam-b": pytest.approx(10.0)}
    assert [r.incident_id for r in late_rows] == ["a-ta-2", "b-fa-1", "b-ta-1"]
    assert late_hours["cam-a"] == pytest.approx((NOW - T0 - 3000) / 3600)


_LEARNED = (Disposition.TRUE_ALARM, Disposition.FALSE_ALARM)


def _lines(stdout: str) -> dict[tuple[str, str], list[str]]:
    """The table rows by (camera, event)."""
    rows = {}
    for line in stdout.splitlines():
        cells = line.split()
        if len(cells) > 2 and cells[0].startswith("cam-"):
            rows[(cells[0], cells[1])] = cells
    return rows


def test_calibrate_prints_the_proposal_and_applies_it_as_a_snippet(db: str, tmp_path: Path) -> None:
    out = tmp_path / "proposed.yaml"
    proc = run_vigil(
        "calibrate", "--db-url", db, "--min-dispositions", "2", "--apply", "--out", str(out)
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = _lines(proc.stdout)
    # cam-a fall: 3 FA (highest 0.72), 2 TA (lowest 0.86): 0.60 -> 0.73
    fa, ta, current, proposed = rows[("cam-a", "fall")][2:6]
    assert (fa, ta, current, proposed) == ("3", "2", "0.600", "0.730")
    # 3 false alarms over the 10 camera-hours since the camera was registered, none left
    hours, before, after = rows[("cam-a", "fall")][6:9]
    assert float(hours) == pytest.approx(10.0, abs=0.1)
    assert float(before) == pytest.approx(0.3, abs=0.01) and after == "0.00"
    assert rows[("cam-b", "fire")][2:6] == ["1", "1", "0.600", "0.710"]
    assert read_thresholds(out) == {"cam-a": {"fall": 0.73}, "cam-b": {"fire": 0.71}}
    assert "vigil calibrate" in out.read_text().splitlines()[0]


def test_calibrate_reads_the_config_thresholds_and_never_writes_the_config(
    db: str, tmp_path: Path
) -> None:
    config = tmp_path / "vigil.yaml"
    config.write_text(
        f"storage:\n  database_url: {db}\n"
        "cameras:\n"
        "  - id: cam-a\n    url: rtsp://cam-a/s\n    events:\n      fall: {threshold: 0.8}\n"
    )
    before = config.read_text()
    proc = run_vigil("calibrate", "-c", str(config), "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = {(p["camera"], p["event_type"]): p for p in json.loads(proc.stdout)["proposals"]}
    fall = doc[("cam-a", "fall")]
    assert fall["current"] == 0.8 and fall["proposed"] == 0.8 and not fall["changed"]
    assert fall["false_alarms"] == 3 and fall["false_alarms_left"] == 0
    assert fall["false_alarms_per_hour_before"] > fall["false_alarms_per_hour_after"] == 0.0
    assert doc[("cam-b", "fire")]["why"] == "2 disposition(s), 5 needed"
    refused = run_vigil("calibrate", "-c", str(config), "--apply", "--out", str(config))
    assert refused.returncode == 2 and "never edits" in refused.stderr
    assert config.read_text() == before


def test_calibrate_without_a_database_says_what_to_give(tmp_path: Path) -> None:
    proc = run_vigil("calibrate", env={"VIGIL_CONFIG": ""})
    assert proc.returncode == 2 and "--db-url" in proc.stderr
    missing = run_vigil("calibrate", "--db-url", f"sqlite:///{tmp_path / 'none.db'}")
    assert missing.returncode == 1 and "no database" in missing.stderr


@pytest.mark.slow
def test_eval_with_thresholds_shows_false_alarms_before_and_after(
    tmp_path: Path, scene_clip: Callable[..., Path]
) -> None:
    from vigil.scene import truth_path

    clip = scene_clip("demo", 0, 60.0)
    folder = tmp_path / "set"
    folder.mkdir()
    for src in (clip, truth_path(clip)):
        (folder / src.name).write_bytes(src.read_bytes())
    snippet = tmp_path / "t.yaml"
    snippet.write_text("cameras:\n- id: cam-a\n  events:\n    fall: {threshold: 1.0}\n")
    proc = run_vigil("eval", str(folder), "--jobs", "1", "--thresholds", str(snippet))
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {
        cells[0]: cells
        for cells in (line.split() for line in proc.stdout.splitlines())
        if len(cells) == 9 and cells[1] in ("0.600", "0.650", "0.700")
    }
    # event, threshold before/after, FP before/after, FA/h before/after, recall before/after
    assert rows["fall"][1:3] == ["0.600", "1.000"], proc.stdout
    assert rows["fall"][-2:] == ["1.00", "0.00"], proc.stdout
    assert rows["fire"][1] == rows["fire"][2] and rows["fire"][-2:] == ["1.00", "1.00"]
