"""``vigil eval`` on the generated suite (tests/support/eval_suite.py): every event type the
``cues`` profile detects is found in every positive clip, and no clip of the hard negatives
raises anything. The figures are written to test-artifacts/eval-suite/ for the issue note."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_vigil
from tests.support.eval_suite import (
    EVENTS_CONFIG,
    INTRUSION_CONFIG,
    REPO,
    events_folder,
    intrusion_folder,
)

ARTIFACTS = REPO / "test-artifacts" / "eval-suite"
pytestmark = pytest.mark.slow


def _eval(folder: Path, config: Path, out: Path, *extra: str) -> dict[str, Any]:
    proc = run_vigil(
        "eval", str(folder), "-c", str(config), "--json", "--jobs", "2", "--out", str(out),
        *extra, timeout=1200,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc: dict[str, Any] = json.loads(proc.stdout)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{folder.name}-{out.name}.json").write_text(proc.stdout, encoding="utf-8")
    return doc


def _misses_and_false_alarms(doc: dict[str, Any]) -> list[str]:
    wrong = []
    for clip in doc["clips"]:
        wrong += [f"{clip['name']}: missed {m['type']}@{m['start_s']}" for m in clip["missed"]]
        wrong += [
            f"{clip['name']}: false {i['type']}@{i['opened_s']}"
            for i in clip["incidents"]
            if not i["matched"]
        ]
    return wrong


@pytest.mark.parametrize("fps", [2, 5])
def test_every_event_is_found_and_no_hard_negative_raises_anything(
    tmp_path: Path, fps: int
) -> None:
    config = tmp_path / "suite.yaml"
    config.write_text(EVENTS_CONFIG, encoding="utf-8")
    doc = _eval(events_folder(), config, tmp_path / f"{fps}fps", "--fps", str(fps))
    assert _misses_and_false_alarms(doc) == []
    for event_type in ("fall", "fire", "smoke"):
        m = doc["event_types"][event_type]
        assert m["events"] >= 2 and m["recall"] == 1.0, (event_type, m)
        assert m["negative_clips"] >= 14 and m["false_alarms_per_hour"] == 0.0, (event_type, m)
        # coverage: the share of each event during which its incident is open
        assert m["coverage"] >= 0.75, (event_type, m)


def test_intrusion_is_found_inside_the_zone_only(tmp_path: Path) -> None:
    doc = _eval(intrusion_folder(), INTRUSION_CONFIG, tmp_path / "2fps", "--camera", "dock")
    assert _misses_and_false_alarms(doc) == []
    m = doc["event_types"]["intrusion"]
    assert m["events"] == 2 and m["recall"] == 1.0 and m["precision"] == 1.0, m
