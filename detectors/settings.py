"""Configuration of event rules and zones (owned by the detectors stage)."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from engines.catalogue import CATALOGUE

#: Defaults that differ per event type; anything not listed uses EventConfig's defaults.
EVENT_DEFAULTS: dict[str, dict[str, float]] = {
    ev.name: dict(ev.rule_defaults) for ev in CATALOGUE.values()
}


class EventConfig(BaseModel):
    """How scores of one event type become incidents on one camera."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="Detect this event on this camera.")
    threshold: float | None = Field(
        None, ge=0.0, le=1.0, description="Score at or above which the event is active."
    )
    hysteresis: float = Field(
        0.2,
        ge=0.0,
        le=1.0,
        description="An active event ends only when the score falls below threshold - hysteresis.",
    )
    min_duration_s: float | None = Field(
        None, ge=0.0, le=600.0, description="The score must stay active this long to open."
    )
    cooldown_s: float | None = Field(
        None, ge=0.0, le=86400.0, description="After a close, no new incident for this long."
    )
    merge_gap_s: float = Field(
        5.0,
        ge=0.0,
        le=600.0,
        description="An event that comes back within this gap continues the same incident.",
    )
    update_interval_s: float = Field(
        10.0, gt=0.0, le=3600.0, description="Emit an update of an open incident this often."
    )
    max_duration_s: float = Field(
        3600.0, gt=0.0, le=86400.0, description="Close an incident that stays open this long."
    )
    dwell_s: float = Field(
        5.0,
        ge=0.0,
        le=3600.0,
        description="intrusion only: a person must stay this long inside the zones that list "
        "intrusion (anywhere in the picture if no zone does) before it scores.",
    )
    loiter_s: float = Field(
        30.0,
        ge=0.0,
        le=86400.0,
        description="intrusion only: a stay this long is loitering (a higher score, an update "
        "and the cue intrusion_loitering = 1).",
    )

    def resolved(self, event_type: str) -> ResolvedEventConfig:
        """Fill unset fields with the event type's defaults."""
        d = EVENT_DEFAULTS.get(event_type, {})
        return ResolvedEventConfig(
            enabled=self.enabled,
            threshold=self.threshold if self.threshold is not None else d.get("threshold", 0.6),
            hysteresis=self.hysteresis,
            min_duration_s=(
                self.min_duration_s
                if self.min_duration_s is not None
                else d.get("min_duration_s", 1.0)
            ),
            cooldown_s=self.cooldown_s if self.cooldown_s is not None else d.get("cooldown_s", 30),
            merge_gap_s=self.merge_gap_s,
            update_interval_s=self.update_interval_s,
            max_duration_s=self.max_duration_s,
            dwell_s=self.dwell_s,
            loiter_s=max(self.loiter_s, self.dwell_s),
        )


class ResolvedEventConfig(BaseModel):
    """An event rule with every field set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    threshold: float = Field(0.6, ge=0.0, le=1.0)
    hysteresis: float = Field(0.2, ge=0.0, le=1.0)
    min_duration_s: float = Field(1.0, ge=0.0)
    cooldown_s: float = Field(30.0, ge=0.0)
    merge_gap_s: float = Field(5.0, ge=0.0)
    update_interval_s: float = Field(10.0, gt=0.0)
    max_duration_s: float = Field(3600.0, gt=0.0)
    dwell_s: float = Field(5.0, ge=0.0)
    loiter_s: float = Field(30.0, ge=0.0)

    @property
    def off_threshold(self) -> float:
        """Score below which an active event ends."""
        return max(0.0, self.threshold - self.hysteresis)


class ZoneConfig(BaseModel):
    """A named polygon in normalised image coordinates and the events it applies to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(..., min_length=1, max_length=64, description="Zone name shown in reports.")
    polygon: list[tuple[float, float]] = Field(
        ..., min_length=3, description="Vertices as [x, y] in [0, 1], x to the right, y down."
    )
    events: list[str] = Field(
        default_factory=list, description="Event types this zone applies to (empty: all)."
    )
    mask: bool = Field(
        False, description="A mask zone: detections inside it are ignored instead of kept."
    )

    @model_validator(mode="after")
    def _check_points(self) -> Self:
        for x, y in self.polygon:
            if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
                raise ValueError(f"polygon point [{x}, {y}] is outside [0, 1]")
        return self
