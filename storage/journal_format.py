"""The journal's entry format: what one line holds, and its JSON mapping.

See ``storage.journal`` for the log itself.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from detectors.types import IncidentUpdate, ScorePoint, UpdateKind
from reports.types import Report, Severity
from storage.records import MediaRef

EntryKind = Literal["update", "report", "media"]


@dataclass
class Pending:
    """An incident update with the report and media that go with it."""

    update: IncidentUpdate
    report: Report | None = None
    media: list[MediaRef] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Entry:
    """One accepted item: an update (with report and media), a later report, or a media file."""

    seq: int
    kind: EntryKind
    pending: Pending | None = None
    report: Report | None = None
    media: MediaRef | None = None

    @property
    def incident_id(self) -> str:
        """The incident this entry belongs to."""
        if self.pending is not None:
            return self.pending.update.incident_id
        if self.report is not None:
            return self.report.incident_id
        assert self.media is not None
        return self.media.incident_id

    def describe(self) -> str:
        """A short human description for log lines."""
        if self.pending is not None:
            u = self.pending.update
            return f"incident {u.incident_id} version {u.version} ({u.kind.value})"
        if self.report is not None:
            return f"report of incident {self.report.incident_id}"
        assert self.media is not None
        return f"media {self.media.path} of incident {self.media.incident_id}"


# --- JSON mapping -----------------------------------------------------------------------------


def _report_json(report: Report | None) -> dict[str, Any] | None:
    if report is None:
        return None
    data = dataclasses.asdict(report)
    data["severity"] = report.severity.value
    return data


def _report_from(data: dict[str, Any] | None) -> Report | None:
    if data is None:
        return None
    return Report(**{**data, "severity": Severity(data["severity"])})


def pending_to_json(item: Pending) -> dict[str, Any]:
    """A ``Pending`` as plain JSON data."""
    upd = dataclasses.asdict(item.update)
    upd["kind"] = item.update.kind.value
    upd["cues"] = dict(item.update.cues)
    return {
        "update": upd,
        "report": _report_json(item.report),
        "media": [dataclasses.asdict(m) for m in item.media],
    }


def pending_from_json(data: dict[str, Any]) -> Pending:
    """The inverse of ``pending_to_json`` (``KeyError``/``TypeError``/``ValueError`` if bad)."""
    upd = dict(data["update"])
    upd["kind"] = UpdateKind(upd["kind"])
    upd["timeline"] = tuple(ScorePoint(**p) for p in upd.get("timeline", ()))
    if upd.get("region") is not None:
        upd["region"] = tuple(float(v) for v in upd["region"])
    media = [MediaRef(**m) for m in data.get("media", ())]
    return Pending(IncidentUpdate(**upd), _report_from(data.get("report")), media)


def entry_to_json(entry: Entry) -> dict[str, Any]:
    """An entry as one JSON object (one journal line)."""
    out: dict[str, Any] = {"seq": entry.seq, "op": entry.kind}
    if entry.pending is not None:
        out.update(pending_to_json(entry.pending))
    elif entry.report is not None:
        out["report"] = _report_json(entry.report)
    elif entry.media is not None:
        out["media"] = dataclasses.asdict(entry.media)
    return out


def entry_from_json(data: dict[str, Any]) -> Entry:
    """Parse one journal line's object (raises ``KeyError``/``TypeError``/``ValueError``)."""
    seq = int(data["seq"])
    op = data["op"]
    if op == "update":
        return Entry(seq, "update", pending=pending_from_json(data))
    if op == "report":
        return Entry(seq, "report", report=_report_from(data["report"]))
    if op == "media":
        return Entry(seq, "media", media=MediaRef(**data["media"]))
    raise ValueError(f"unknown journal op {op!r}")


def fsync_dir(folder: Path) -> None:
    """fsync a directory (so a created, renamed or removed file in it survives a crash)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
