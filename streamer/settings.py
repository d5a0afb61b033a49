"""Configuration of sources and ingestion (owned by the streamer stage)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class BackoffConfig(BaseModel):
    """Exponential backoff with jitter: the delays of :class:`streamer.backoff.Backoff`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    initial_s: float = Field(0.5, gt=0, le=60, description="First delay after a failure.")
    max_s: float = Field(30.0, gt=0, le=3600, description="Cap on the delay.")
    factor: float = Field(2.0, ge=1.0, le=10.0, description="Delay multiplier per failure.")
    jitter: float = Field(0.2, ge=0.0, le=1.0, description="Random +/- fraction of the delay.")


class ReconnectConfig(BackoffConfig):
    """Exponential backoff with jitter between reconnect attempts."""

    healthy_reset_s: float = Field(
        60.0, gt=0, le=3600, description="Online this long resets the delay to initial_s."
    )
    failed_retry_s: float = Field(
        300.0,
        gt=0,
        le=86400,
        description="Delay between retries of a permanently failed source "
        "(authentication refused, path not found, unsupported codec).",
    )


class StreamerConfig(BaseModel):
    """Defaults for every camera's source (a camera may override transport)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    transport: Literal["tcp", "udp"] = Field("tcp", description="RTSP transport.")
    open_timeout_s: float = Field(
        5.0, gt=0, le=120, description="Give up opening a source after this long."
    )
    read_timeout_s: float = Field(
        3.0, gt=0, le=120, description="A source that sends nothing this long is stalled."
    )
    queue_size: int = Field(
        4, ge=1, le=1000, description="Sampled frames buffered per camera before backpressure."
    )
    backpressure: Literal["drop_oldest", "drop_newest", "wait"] = Field(
        "drop_oldest",
        description="What a live source does when the queue is full. File sources always wait.",
    )
    reconnect: ReconnectConfig = Field(default_factory=ReconnectConfig)
    stall_s: float = Field(
        2.0,
        gt=0,
        le=120,
        description="An online source that delivers no packet this long is marked stalled "
        "(before read_timeout_s gives up on the connection).",
    )
    analyze_s: float = Field(
        0.5,
        gt=0,
        le=30,
        description="How much of a network stream FFmpeg probes at open (shorter: faster start).",
    )
    keyframe_only: bool = Field(
        True,
        description="Decode keyframes only when the measured keyframe interval is at most the "
        "sampling period (about 5x cheaper); false always decodes every frame.",
    )
    skip_gop_tail: bool = Field(
        True,
        description="When keyframes come at a regular interval, stop decoding a GOP after its "
        "last sample (the rest is not needed before the next keyframe). False decodes every "
        "frame between keyframes.",
    )
    skip_corrupt: bool = Field(
        True,
        description="After a decode error, sample nothing until the next keyframe (frames in "
        "between are predicted from damaged data); each skipped sample counts as a drop "
        "'corrupt_frame'.",
    )
    decode_threads: int = Field(
        1,
        ge=0,
        le=64,
        description="Decoder threads per camera (0 = FFmpeg's choice). One thread per camera "
        "costs the least CPU; readers of many cameras already run in parallel.",
    )

    @model_validator(mode="after")
    def _stall_before_timeout(self) -> StreamerConfig:
        if self.stall_s >= self.read_timeout_s:
            raise ValueError(
                f"stall_s ({self.stall_s}) must be less than read_timeout_s "
                f"({self.read_timeout_s}): a source is marked stalled before it times out"
            )
        return self
