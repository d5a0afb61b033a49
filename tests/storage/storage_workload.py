"""Incident updates and reports for the storage tests and the publisher worker process."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence

import numpy as np

from detectors.types import IncidentUpdate, ScorePoint, UpdateKind
from reports.types import Report, Severity
from storage.search import Vectors


def make_update(
    incident_id: str = "inc-1",
    version: int = 1,
    *,
    camera_id: str = "cam-a",
    event_type: str = "fall",
    kind: UpdateKind | None = None,
    ts_s: float | None = None,
    opened_ts_s: float = 1_700_000_000.0,
    score: float = 0.8,
    zone: str | None = None,
    closed: bool = False,
) -> IncidentUpdate:
    """An incident update with plausible values."""
    if kind is None:
        kind = UpdateKind.OPEN if version == 1 else UpdateKind.UPDATE
    if closed:
        kind = UpdateKind.CLOSE
    ts = opened_ts_s + version if ts_s is None else ts_s
    return IncidentUpdate(
        incident_id=incident_id,
        version=version,
        kind=kind,
        camera_id=camera_id,
        event_type=event_type,
        ts_s=ts,
        opened_ts_s=opened_ts_s,
        closed_ts_s=ts if kind is UpdateKind.CLOSE else None,
        score=score,
        peak_score=max(score, 0.9),
        mean_score=score * 0.9,
        zone=zone,
        onset_pts_s=12.5,
        cues={"motion_energy": 0.25, "fall_height_drop_ratio": 0.6},
        timeline=(ScorePoint(opened_ts_s, 0.5), ScorePoint(ts, score)),
        close_reason="score_below_threshold" if kind is UpdateKind.CLOSE else None,
    )


def make_report(
    incident_id: str = "inc-1", incident_version: int = 1, *, backend: str = "template"
) -> Report:
    """A report with plausible values."""
    return Report(
        incident_id=incident_id,
        incident_version=incident_version,
        title="Person fell near the dock",
        summary="A person fell at 10:00 on Camera cam-a.",
        severity=Severity.HIGH,
        action="Check on the person.",
        backend=backend,
        model=None if backend == "template" else "tiny",
        latency_s=0.01,
    )


def burst(n: int, cameras: int, *, updates_per_incident: int = 5) -> Iterator[IncidentUpdate]:
    """``n`` updates spread round-robin over ``cameras`` cameras (cam-0, cam-1, ...), each
    camera's incidents opened, updated and closed in turn."""
    per_cam = [0] * cameras
    for i in range(n):
        c = i % cameras
        k = per_cam[c]
        per_cam[c] += 1
        inc, step = divmod(k, updates_per_incident)
        version = step + 1
        yield make_update(
            f"cam-{c}-inc-{inc}",
            version,
            camera_id=f"cam-{c}",
            event_type="fire" if c % 2 else "fall",
            opened_ts_s=1_700_000_000.0 + 100 * inc,
            closed=version == updates_per_incident,
        )


class TinyEmbedder:
    """Deterministic bag of hashed words (no model): same words, same vector."""

    name = "tiny-hash"
    dim = 64

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[i, hashlib.sha1(word.encode()).digest()[0] % self.dim] += 1.0
            out[i] /= max(float(np.linalg.norm(out[i])), 1e-9)
        return out
