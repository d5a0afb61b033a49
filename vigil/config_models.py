"""The config models: a camera, logging, and the whole configuration."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from detectors.settings import EventConfig, ZoneConfig
from engines.settings import ModelConfig
from engines.types import EVENT_TYPES
from reports.settings import ReportsConfig
from storage.settings import BusConfig, StorageConfig
from streamer.masking import mask_url
from streamer.settings import StreamerConfig
from vigil.api.settings import ApiConfig
from vigil.config_checks import (
    DEFAULT_CAMERA_EVENTS,
    _cross_checked,
    _duplicate_id_problems,
    _undetectable_problems,
    _zone_event_problems,
)


class CameraConfig(BaseModel):
    """One camera: where its stream is and what to look for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(
        ...,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description="Stable id (letters, digits, _ . -), used as the Kafka key.",
    )
    name: str | None = Field(None, max_length=128, description="Human name (defaults to id).")
    location: str | None = Field(None, max_length=256, description="Where the camera is.")
    url: str = Field(
        ...,
        min_length=1,
        description="rtsp://, rtsps://, http(s):// (HLS), file path, file://, or /dev/videoN.",
    )
    fps: float = Field(2.0, ge=1.0, le=5.0, description="Frames sampled per second of stream.")
    enabled: bool = Field(True, description="Disabled cameras are configured but not read.")
    start_time: str | None = Field(
        None,
        description="Files only: when the first frame was recorded (ISO 8601, e.g. "
        "2026-11-30T14:05:00; the site's time zone unless it has an offset). Default: the "
        "file's creation_time tag if present, else when reading starts.",
    )
    transport: str | None = Field(None, description="RTSP transport override: tcp or udp.")
    events: dict[str, EventConfig] = Field(
        default_factory=lambda: {ev: EventConfig() for ev in DEFAULT_CAMERA_EVENTS},
        description="Event types to detect, each with its rule (model.profile must detect them).",
    )
    zones: list[ZoneConfig] = Field(default_factory=list, description="Named zones and masks.")

    @property
    def display_name(self) -> str:
        """Name for people: ``name`` or else ``id``."""
        return self.name or self.id

    @property
    def masked_url(self) -> str:
        """The URL with its password masked."""
        return mask_url(self.url)

    @field_validator("start_time")
    @classmethod
    def _check_start_time(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                dt.datetime.fromisoformat(v)
            except ValueError:
                raise ValueError(
                    f"{v!r} is not an ISO 8601 date and time (e.g. 2026-11-30T14:05:00)"
                ) from None
        return v

    def start_wall_s(self, tz: zoneinfo.ZoneInfo) -> float | None:
        """``start_time`` as Unix seconds (naive times are in ``tz``, the site's)."""
        if self.start_time is None:
            return None
        when = dt.datetime.fromisoformat(self.start_time)
        return (when if when.tzinfo else when.replace(tzinfo=tz)).timestamp()

    @field_validator("url")
    @classmethod
    def _check_url(cls, v: str) -> str:
        from streamer.source import SourceError, parse_source

        bad = next((c for c in v if ord(c) < 32 or ord(c) == 127), None)
        if bad is not None:
            raise ValueError(f"the URL contains a control character ({bad!r}): {mask_url(v)!r}")
        try:
            parse_source(v)
        except SourceError as exc:  # its message is already masked
            raise ValueError(exc.message) from None
        return v

    @field_validator("transport")
    @classmethod
    def _check_transport(cls, v: str | None) -> str | None:
        if v is not None and v not in ("tcp", "udp"):
            raise ValueError(f"transport must be 'tcp' or 'udp', got {v!r}")
        return v

    @field_validator("events", mode="before")
    @classmethod
    def _none_is_default_rule(cls, v: Any) -> Any:
        # `fire: {}` and `fire:` (null) both mean "detect with defaults".
        if isinstance(v, Mapping):
            return {k: ({} if val is None else val) for k, val in v.items()}
        return v

    @field_validator("events")
    @classmethod
    def _check_events(cls, v: dict[str, EventConfig]) -> dict[str, EventConfig]:
        unknown = sorted(set(v) - set(EVENT_TYPES))
        if unknown:
            raise ValueError(
                f"unknown event type(s) {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}"
            )
        return v

    @model_validator(mode="after")
    def _check_zone_events(self, info: ValidationInfo) -> Self:
        if _cross_checked(info):
            return self
        for j, z in enumerate(self.zones):
            for k, msg in _zone_event_problems(list(self.events), z.events):
                raise ValueError(f"zones[{j}].events[{k}]: {msg}")
        return self


class LoggingConfig(BaseModel):
    """Log output."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level: str = Field("INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$", description="Log level.")
    json_lines: bool = Field(False, alias="json", description="One JSON object per log line.")


class VigilConfig(BaseModel):
    """The whole configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    site: str = Field("default", min_length=1, max_length=128, description="Site name.")
    timezone: str = Field("UTC", description="IANA time zone for reports, e.g. Europe/Berlin.")
    storage: StorageConfig = Field(default_factory=StorageConfig)
    bus: BusConfig = Field(default_factory=BusConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)
    streamer: StreamerConfig = Field(default_factory=StreamerConfig)
    cameras: list[CameraConfig] = Field(default_factory=list, description="Cameras to watch.")
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)

    @field_validator("timezone")
    @classmethod
    def _check_tz(cls, v: str) -> str:
        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as UTC)") from exc
        return v

    @model_validator(mode="after")
    def _check_cameras(self, info: ValidationInfo) -> Self:
        if _cross_checked(info):
            return self
        for i, msg in _duplicate_id_problems([cam.id for cam in self.cameras]):
            raise ValueError(f"cameras[{i}].id: {msg}")
        detects = self.model.detectable_events()
        for i, cam in enumerate(self.cameras):
            enabled = {ev: rule.enabled for ev, rule in cam.events.items()}
            for ev, msg in _undetectable_problems(enabled, self.model.profile, detects):
                raise ValueError(f"cameras[{i}].events.{ev}: {msg}")
        return self

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        """The site's time zone."""
        return zoneinfo.ZoneInfo(self.timezone)

    def camera(self, camera_id: str) -> CameraConfig:
        """The camera with this id (KeyError if none)."""
        for cam in self.cameras:
            if cam.id == camera_id:
                return cam
        raise KeyError(camera_id)
