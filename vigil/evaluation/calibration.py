"""Per-camera threshold calibration from the operators' dispositions (pure logic).

Each resolved incident an operator marked ``false_alarm`` or ``true_alarm`` is one labelled
peak score on one camera for one event type. An incident opens only when its score reaches
the threshold, so a threshold above a false alarm's peak would have kept it from opening and
one at or under a true alarm's peak keeps that alarm. For each camera and event type with at
least ``min_dispositions`` dispositions the proposal is the lowest threshold that removes every
dispositioned false alarm (its highest peak plus ``margin``), never lower than the current
threshold (the operators said nothing about alarms that were never raised), never above the
lowest true alarm's peak, and within ``[floor, ceiling]``. Where the lowest true alarm peaked
under the floor no threshold honours both, and the current one stays.

Proposals are written as a YAML snippet of per-camera ``events.<type>.threshold``
(:func:`snippet`) that a person merges into the config; :func:`read_thresholds` reads it back
(``vigil eval --thresholds FILE``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TRUE_ALARM = "true_alarm"
FALSE_ALARM = "false_alarm"


@dataclass(frozen=True)
class Disposed:
    """One dispositioned incident: where, what, its peak score and the operators' verdict."""

    camera_id: str
    event_type: str
    peak: float
    disposition: str
    incident_id: str = ""


@dataclass(frozen=True)
class Bounds:
    """Limits of a proposal."""

    #: never propose a threshold under this
    floor: float = 0.5
    #: never propose a threshold above this
    ceiling: float = 0.95
    #: true and false alarms a camera's event type needs before a proposal
    min_dispositions: int = 5
    #: how far above the highest false alarm's peak the proposal goes
    margin: float = 0.01

    def __post_init__(self) -> None:
        if not 0.0 <= self.floor <= self.ceiling <= 1.0:
            raise ValueError(f"need 0 <= floor <= ceiling <= 1, got {self.floor}, {self.ceiling}")
        if self.min_dispositions < 1 or self.margin < 0:
            raise ValueError("min_dispositions must be >= 1 and margin >= 0")


@dataclass(frozen=True)
class Proposal:
    """The proposal for one camera and event type."""

    camera_id: str
    event_type: str
    current: float
    proposed: float
    false_alarms: tuple[float, ...] = ()
    true_alarms: tuple[float, ...] = ()
    reason: str = ""

    @property
    def changed(self) -> bool:
        """True when the proposal differs from the current threshold."""
        return not math.isclose(self.proposed, self.current, abs_tol=1e-9)

    @property
    def false_alarms_left(self) -> int:
        """Dispositioned false alarms the proposal would still raise (peak at or above it)."""
        return sum(1 for p in self.false_alarms if p >= self.proposed)

    @property
    def true_alarms_lost(self) -> int:
        """Dispositioned true alarms the proposal would no longer raise."""
        return sum(1 for p in self.true_alarms if p < self.proposed)


def _ceil(value: float, digits: int = 3) -> float:
    """``value`` rounded up to ``digits`` decimals (a threshold that is surely above it)."""
    scale = 10.0**digits
    return float(math.ceil(round(value * scale, 6))) / scale


def propose_one(
    camera_id: str,
    event_type: str,
    current: float,
    items: Iterable[Disposed],
    bounds: Bounds = Bounds(),
) -> Proposal:
    """The proposal for one camera and event type from its dispositions."""
    fa = tuple(sorted(i.peak for i in items if i.disposition == FALSE_ALARM))
    ta = tuple(sorted(i.peak for i in items if i.disposition == TRUE_ALARM))
    keep = Proposal(camera_id, event_type, current, current, fa, ta)
    count = len(fa) + len(ta)
    if count < bounds.min_dispositions:
        return _with(keep, f"{count} disposition(s), {bounds.min_dispositions} needed")
    if not fa:
        return _with(keep, "no false alarm dispositioned")
    if ta and ta[0] < bounds.floor:
        return _with(keep, f"a true alarm peaked at {ta[0]:.3f}, under the floor {bounds.floor}")
    target = max(current, _ceil(fa[-1] + bounds.margin))
    why = f"above the highest false alarm ({fa[-1]:.3f})"
    if ta and target > ta[0]:
        target, why = ta[0], f"at the lowest true alarm ({ta[0]:.3f})"
    if target > bounds.ceiling:
        target, why = bounds.ceiling, f"the ceiling {bounds.ceiling}"
    if target < bounds.floor:
        target, why = bounds.floor, f"the floor {bounds.floor}"
    if math.isclose(target, current, abs_tol=1e-9) and fa[-1] < current:
        why = "the current threshold is already above every false alarm"
    return Proposal(camera_id, event_type, current, target, fa, ta, why)


def _with(p: Proposal, reason: str) -> Proposal:
    return Proposal(
        p.camera_id, p.event_type, p.current, p.proposed, p.false_alarms, p.true_alarms, reason
    )


def propose(
    items: Iterable[Disposed],
    current: Callable[[str, str], float],
    bounds: Bounds = Bounds(),
) -> list[Proposal]:
    """One proposal per camera and event type among ``items`` (sorted by camera, event);
    ``current(camera, event)`` is the threshold in force. Other dispositions (``test``,
    ``nuisance``) are ignored."""
    groups: dict[tuple[str, str], list[Disposed]] = {}
    for item in items:
        if item.disposition in (TRUE_ALARM, FALSE_ALARM):
            groups.setdefault((item.camera_id, item.event_type), []).append(item)
    return [
        propose_one(cam, ev, current(cam, ev), groups[(cam, ev)], bounds)
        for cam, ev in sorted(groups)
    ]


def per_hour(count: int, hours: float | None) -> float | None:
    """``count`` per hour (None: no hours known)."""
    return None if not hours or hours <= 0 else count / hours


@dataclass
class Snippet:
    """The per-camera thresholds of the changed proposals, as a config snippet."""

    cameras: dict[str, dict[str, float]] = field(default_factory=dict)

    @classmethod
    def of(cls, proposals: Iterable[Proposal]) -> Snippet:
        """The changed proposals' thresholds by camera and event type."""
        out = cls()
        for p in proposals:
            if p.changed:
                out.cameras.setdefault(p.camera_id, {})[p.event_type] = p.proposed
        return out

    def as_yaml(self, header: str = "") -> str:
        """``cameras: [{id, events: {<type>: {threshold}}}]``, after ``header`` comment lines."""
        doc = {
            "cameras": [
                {"id": cam, "events": {ev: {"threshold": t} for ev, t in sorted(evs.items())}}
                for cam, evs in sorted(self.cameras.items())
            ]
        }
        head = "".join(f"# {line}\n" for line in header.splitlines())
        return head + yaml.safe_dump(doc, sort_keys=False)


def read_thresholds(path: Path) -> dict[str, dict[str, float]]:
    """The thresholds of a snippet file, by camera and event type; ValueError if malformed."""
    try:
        doc: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
    cams = doc.get("cameras") if isinstance(doc, dict) else None
    if not isinstance(cams, list):
        raise ValueError(f"{path}: expected a `cameras:` list")
    out: dict[str, dict[str, float]] = {}
    for cam in cams:
        try:
            events = cam["events"]
            out[str(cam["id"])] = {str(ev): float(r["threshold"]) for ev, r in events.items()}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"{path}: camera entry {cam!r}: {exc!r}") from None
    for cam_id, evs in out.items():
        for ev, t in evs.items():
            if not 0.0 <= t <= 1.0:
                raise ValueError(f"{path}: {cam_id}.{ev} threshold {t} is not within [0, 1]")
    return out


def camera_thresholds(
    thresholds: Mapping[str, Mapping[str, float]], camera: str | None
) -> Mapping[str, float]:
    """The thresholds of ``camera`` in a snippet (None: its only camera); ValueError if none."""
    if camera is None:
        if len(thresholds) != 1:
            raise ValueError(
                f"the thresholds name {len(thresholds)} cameras ({', '.join(sorted(thresholds))});"
                " choose one with --camera"
            )
        return next(iter(thresholds.values()))
    if camera not in thresholds:
        raise ValueError(f"the thresholds name no camera {camera!r}")
    return thresholds[camera]
