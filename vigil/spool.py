"""A local spool for incident updates the database could not take before exit.

Written as JSON lines next to the media directory; replayed into the database at the next start
(then renamed), so an accepted incident update survives a database outage across restarts.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detectors.types import IncidentUpdate, ScorePoint, UpdateKind
from reports.types import Report, Severity
from storage.records import MediaRef

log = logging.getLogger(__name__)

SPOOL_NAME = "unsaved-updates.jsonl"


@dataclass
class Pending:
    """An incident update with the report and media that go with it."""

    update: IncidentUpdate
    report: Report | None = None
    media: list[MediaRef] = field(default_factory=list)


def _to_json(item: Pending) -> dict[str, Any]:
    upd = dataclasses.asdict(item.update)
    upd["kind"] = item.update.kind.value
    upd["cues"] = dict(item.update.cues)
    rep = None
    if item.report is not None:
        rep = dataclasses.asdict(item.report)
        rep["severity"] = item.report.severity.value
    return {"update": upd, "report": rep, "media": [dataclasses.asdict(m) for m in item.media]}


def _from_json(data: dict[str, Any]) -> Pending:
    upd = dict(data["update"])
    upd["kind"] = UpdateKind(upd["kind"])
    upd["timeline"] = tuple(ScorePoint(**p) for p in upd.get("timeline", ()))
    rep = data.get("report")
    report = None
    if rep is not None:
        report = Report(**{**rep, "severity": Severity(rep["severity"])})
    media = [MediaRef(**m) for m in data.get("media", ())]
    return Pending(IncidentUpdate(**upd), report, media)


def spool_path(media_dir: str | Path) -> Path:
    """Where the spool lives for a given media directory (beside it)."""
    return Path(media_dir).resolve().parent / SPOOL_NAME


def append(path: Path, items: Iterable[Pending]) -> int:
    """Append items to the spool (fsynced); returns how many were written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("a", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(_to_json(item)) + "\n")
            n += 1
        fh.flush()
        try:
            import os

            os.fsync(fh.fileno())
        except OSError:
            pass
    return n


def take(path: Path) -> list[Pending]:
    """Read the spool and move it aside (``.replayed-<time>``) so it is replayed once.

    Lines that cannot be read are logged and kept in the moved-aside file.
    """
    if not path.exists():
        return []
    items: list[Pending] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            items.append(_from_json(json.loads(line)))
        except (ValueError, TypeError, KeyError) as exc:
            log.error("spool %s line %d unreadable, left in place: %s", path, n, exc)
    done = path.with_name(f"{path.name}.replayed-{int(time.time())}")
    path.rename(done)
    return items
