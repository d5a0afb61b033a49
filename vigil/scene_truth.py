"""The ground truth of a generated scene: its events, written beside the clip as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class TruthEvent:
    """One ground-truth event in a generated scene (seconds from the clip start)."""

    event_type: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class SceneTruth:
    """What a generated scene contains."""

    scenario: str
    seed: int
    duration_s: float
    fps: int
    width: int
    height: int
    events: list[TruthEvent] = field(default_factory=list)

    def to_json(self) -> str:
        """The ground truth as JSON."""
        return json.dumps(asdict(self), indent=2)


def truth_path(clip: str | Path) -> Path:
    """Where the ground truth of a generated clip is written (``OUT.truth.json``)."""
    p = Path(clip)
    return p.with_name(p.stem + ".truth.json")


def load_truth(clip: str | Path) -> SceneTruth:
    """Read the ground truth written beside a generated clip."""
    data = json.loads(truth_path(clip).read_text(encoding="utf-8"))
    data["events"] = [TruthEvent(**e) for e in data["events"]]
    return SceneTruth(**data)
