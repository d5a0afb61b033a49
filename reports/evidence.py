"""The evidence bundle: everything a report may state about an incident, and nothing more.

Only an :class:`Evidence` reaches a language model, and the grounding check compares generated
text against it. Numbers are rendered by the helpers here (``fmt_*``) so that the template, the
prompt and the grounding check agree on how a value reads in text.
"""

from __future__ import annotations

import math
import zoneinfo
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from detectors.types import IncidentUpdate, ScorePoint

#: Most points kept of an incident's score timeline ("in brief").
TIMELINE_POINTS = 8


class CameraInfo(BaseModel):
    """The camera an incident was seen on, as people know it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    camera_id: str = Field(..., min_length=1, max_length=64, description="Stable camera id.")
    name: str = Field(..., min_length=1, max_length=128, description="Human name of the camera.")
    location: str | None = Field(None, max_length=256, description="Where the camera is.")


class Cue(BaseModel):
    """One measurement the detector used, with the phrase a report may quote."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(..., description="Cue name as the detector reports it, units in the name.")
    value: float = Field(..., description="Measured value.")
    phrase: str = Field(..., description="The value in plain words.")


class TimelinePoint(BaseModel):
    """One point of the score timeline, relative to the incident's opening."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    offset_s: float = Field(..., description="Seconds after the incident opened.")
    score: float = Field(..., ge=0.0, le=1.0, description="Event score at that moment.")


class Evidence(BaseModel):
    """What is known about one incident at one version; the only input of report writers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    incident_id: str = Field(..., min_length=1)
    version: int = Field(..., ge=0)
    site: str = Field(..., min_length=1, description="Site name.")
    timezone: str = Field(..., description="The site's IANA time zone, e.g. Europe/Berlin.")
    camera: CameraInfo
    zone: str | None = Field(None, description="Zone the event was seen in, if any.")
    event_type: str = Field(..., min_length=1, description="fall, fire, smoke, intrusion, …")
    status: Literal["open", "closed"] = Field(..., description="closed once the incident ended.")
    opened_ts_s: float = Field(..., description="Unix seconds when the incident opened.")
    closed_ts_s: float | None = Field(None, description="Unix seconds when it closed.")
    last_ts_s: float = Field(..., description="Unix seconds of this update.")
    duration_s: float = Field(..., ge=0.0, description="Open to close (or to this update).")
    peak_score: float = Field(..., ge=0.0, le=1.0)
    mean_score: float = Field(..., ge=0.0, le=1.0)
    timeline: tuple[TimelinePoint, ...] = Field((), description="The score timeline in brief.")
    cues: tuple[Cue, ...] = Field((), description="The detector's measurements as phrases.")
    keyframes: tuple[str, ...] = Field((), description="References to stored keyframes.")
    close_reason: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        _zone(value)
        return value

    @property
    def ongoing(self) -> bool:
        """True while the incident is still open."""
        return self.status == "open"

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        """The site's time zone."""
        return _zone(self.timezone)

    def local_time(self, ts_s: float) -> datetime:
        """A Unix time as an aware datetime in the site's time zone."""
        return datetime.fromtimestamp(ts_s, self.tz)

    @property
    def opened_iso(self) -> str:
        """Opening time, ISO 8601 with the site's offset (``2026-11-25T14:03:07+01:00``)."""
        return fmt_time(self.local_time(self.opened_ts_s))

    @property
    def closed_iso(self) -> str | None:
        """Closing time like :attr:`opened_iso`, or None while open."""
        if self.closed_ts_s is None:
            return None
        return fmt_time(self.local_time(self.closed_ts_s))

    @property
    def cue_text(self) -> str:
        """All cue phrases, each once, e.g. ``figure height fell 60% in 0.8 s, then …``."""
        return "; ".join(dict.fromkeys(c.phrase for c in self.cues))

    def cue_value(self, name: str) -> float | None:
        """The value of a named cue, or None."""
        for cue in self.cues:
            if cue.name == name:
                return cue.value
        return None


def build_evidence(
    update: IncidentUpdate,
    *,
    camera: CameraInfo,
    site: str,
    timezone: str,
    keyframes: Sequence[str] = (),
) -> Evidence:
    """Bundle an incident update with the camera and site facts a report needs.

    Raises ``ValueError`` when ``camera`` is not the update's camera or ``timezone`` is not an
    IANA time zone name.
    """
    if camera.camera_id != update.camera_id:
        raise ValueError(
            f"build_evidence: camera {camera.camera_id!r} given for incident "
            f"{update.incident_id!r} of camera {update.camera_id!r}"
        )
    _zone(timezone)
    closed = update.closed_ts_s is not None
    return Evidence(
        incident_id=update.incident_id,
        version=update.version,
        site=site,
        timezone=timezone,
        camera=camera,
        zone=update.zone,
        event_type=update.event_type,
        status="closed" if closed else "open",
        opened_ts_s=update.opened_ts_s,
        closed_ts_s=update.closed_ts_s,
        last_ts_s=update.ts_s,
        duration_s=update.duration_s,
        peak_score=_unit(update.peak_score),
        mean_score=_unit(update.mean_score),
        timeline=brief_timeline(update.timeline, update.opened_ts_s),
        cues=cue_phrases(update.cues),
        keyframes=tuple(keyframes),
        close_reason=update.close_reason,
    )


def brief_timeline(
    points: Sequence[ScorePoint], opened_ts_s: float, max_points: int = TIMELINE_POINTS
) -> tuple[TimelinePoint, ...]:
    """Downsample a score timeline to at most ``max_points``, keeping the first, the peak and
    the last point (scores rounded to 2 decimals, offsets to 0.1 s)."""
    pts = sorted(points, key=lambda p: p.ts_s)
    max_points = max(2, max_points)
    if len(pts) > max_points:
        peak = max(range(len(pts)), key=lambda i: pts[i].score)
        step = (len(pts) - 1) / (max_points - 1)
        keep = {round(i * step) for i in range(max_points)}
        if peak not in keep and max_points > 2:
            keep.discard(min(keep - {0, len(pts) - 1}, key=lambda i: abs(i - peak)))
            keep.add(peak)
        pts = [pts[i] for i in sorted(keep)]
    return tuple(
        TimelinePoint(
            offset_s=round(max(0.0, p.ts_s - opened_ts_s), 1), score=round(_unit(p.score), 2)
        )
        for p in pts
    )


# --- cue phrases --------------------------------------------------------------------------------


def cue_phrases(cues: Mapping[str, float]) -> tuple[Cue, ...]:
    """Turn the detector's named measurements into phrases; unknown cues read generically.

    The fall cues ``fall_height_drop_ratio``, ``fall_drop_duration_s`` and ``fall_still_s``
    combine into one phrase (``figure height fell 60% in 0.8 s, then no motion for 12 s``).
    Non-finite values are left out.
    """
    vals = {k: float(v) for k, v in cues.items() if math.isfinite(float(v))}
    out: list[Cue] = []
    drop = vals.pop("fall_height_drop_ratio", None)
    drop_s = vals.pop("fall_drop_duration_s", None)
    still = vals.pop("fall_still_s", None)
    if drop is not None:
        phrase = f"figure height fell {fmt_pct(drop)}"
        if drop_s is not None:
            phrase += f" in {fmt_s(drop_s)}"
        if still is not None:
            phrase += f", then no motion for {fmt_s(still)}"
        out.append(Cue(name="fall_height_drop_ratio", value=drop, phrase=phrase))
        if drop_s is not None:
            out.append(Cue(name="fall_drop_duration_s", value=drop_s, phrase=phrase))
        if still is not None:
            out.append(Cue(name="fall_still_s", value=still, phrase=phrase))
    else:
        if drop_s is not None:
            out.append(
                Cue(
                    name="fall_drop_duration_s",
                    value=drop_s,
                    phrase=f"figure dropped within {fmt_s(drop_s)}",
                )
            )
        if still is not None:
            out.append(
                Cue(name="fall_still_s", value=still, phrase=f"no motion for {fmt_s(still)}")
            )
    for name in sorted(vals):
        out.append(Cue(name=name, value=vals[name], phrase=_cue_phrase(name, vals[name])))
    return tuple(out)


def _cue_phrase(name: str, value: float) -> str:
    if name == "fall_aspect_ratio":
        return f"figure width-to-height ratio {fmt_num(value)} after the fall"
    if name == "fire_area_ratio":
        return f"fire-coloured area covers {fmt_pct(value)} of the frame"
    if name == "fire_growth_ratio":
        return f"fire-coloured area is {fmt_num(value)} times its size at onset"
    if name == "fire_flicker":
        return f"flicker {fmt_pct(value)}"
    words = name.replace("_", " ").strip()
    if name.endswith("_ratio") and 0.0 <= value <= 1.0:
        return f"{words.removesuffix(' ratio')} {fmt_pct(value)}"
    if name.endswith("_s"):
        return f"{words.removesuffix(' s')} {fmt_s(value)}"
    return f"{words} {fmt_num(value)}"


# --- formatting shared by the template, prompts and the grounding check -------------------------


def fmt_pct(ratio: float) -> str:
    """A 0..1 ratio as a whole percentage: ``0.6`` → ``60%``."""
    return f"{round(ratio * 100):d}%"


def fmt_num(value: float) -> str:
    """A short plain number: ``2.0`` → ``2``, ``0.734`` → ``0.73``, ``0.0123`` → ``0.012``."""
    if abs(value) >= 100:
        return f"{round(value):d}"
    if abs(value) < 0.1:
        text = f"{value:.3f}"
    else:
        text = f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt_s(seconds: float) -> str:
    """A duration in seconds: ``0.8 s``, ``12 s``, ``2.5 min``, ``1.2 h``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def fmt_time(when: datetime) -> str:
    """ISO 8601 to the second with the UTC offset."""
    return when.isoformat(timespec="seconds")


def _unit(value: float) -> float:
    return min(1.0, max(0.0, float(value)))


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"timezone {name!r} is not an IANA time zone name") from exc
