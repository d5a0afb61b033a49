"""The ``api:`` section of the config: where the service listens and how it treats people."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reports.types import Severity


class Procedure(BaseModel):
    """What an operator should do for an event type (optionally only in one zone)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: str = Field(min_length=1, max_length=32, description="Event type, e.g. fall.")
    zone: str | None = Field(None, max_length=128, description="Only in this zone (any if unset).")
    text: str = Field(min_length=1, max_length=4000, description="The procedure shown.")


class ApiConfig(BaseModel):
    """The operator service (REST + live feed)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="Serve the API from `vigil run`.")
    bind: str = Field("127.0.0.1:8080", description="HOST:PORT the API listens on.")
    session_hours: float = Field(
        12.0, gt=0, le=24 * 30, description="How long a browser login lasts."
    )
    secure_cookies: bool = Field(
        False, description="Mark the session cookie Secure (set when served over HTTPS)."
    )
    login_attempts: int = Field(
        5, ge=1, le=100, description="Failed logins per user and address before a lockout."
    )
    login_lockout_s: float = Field(
        300.0, gt=0, le=86400, description="Seconds failed logins are counted and locked out."
    )
    escalate_after_s: dict[str, float] = Field(
        default_factory=lambda: {"critical": 60.0, "high": 300.0},
        description="Seconds an incident of a severity may stay `new` before it escalates.",
    )
    procedures: list[Procedure] = Field(
        default_factory=list, description="Procedure text per event type and zone."
    )

    @field_validator("bind")
    @classmethod
    def _check_bind(cls, v: str) -> str:
        host, sep, port = v.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{v!r} is not HOST:PORT (e.g. 127.0.0.1:8080)")
        return v

    @field_validator("escalate_after_s")
    @classmethod
    def _check_severities(cls, v: dict[str, float]) -> dict[str, float]:
        known = {s.value for s in Severity}
        for severity, seconds in v.items():
            if severity not in known:
                raise ValueError(f"unknown severity {severity!r}; choose from {sorted(known)}")
            if not seconds > 0:
                raise ValueError(f"{severity}: seconds must be > 0, got {seconds}")
        return v

    @property
    def host(self) -> str:
        """The host part of ``bind``."""
        return self.bind.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        """The port part of ``bind``."""
        return int(self.bind.rpartition(":")[2])

    def procedure(self, event_type: str, zone: str | None) -> str | None:
        """The procedure for an incident: a zone's own first, else the event type's."""
        general = None
        for p in self.procedures:
            if p.event_type == event_type and p.zone is not None and p.zone == zone:
                return p.text
            if p.event_type == event_type and p.zone is None and general is None:
                general = p.text
        return general
