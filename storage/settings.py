"""Configuration of the database, media store and message bus (owned by the storage stage)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class RetentionConfig(BaseModel):
    """How long media is kept."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: float = Field(30.0, gt=0, le=3650, description="Delete media older than this.")
    max_gb: float = Field(50.0, gt=0, le=100000, description="Keep media under this total size.")
    sweep_interval_s: float = Field(
        600.0, ge=10, le=86400, description="How often the retention sweep runs."
    )


class MediaConfig(BaseModel):
    """What media is written per incident."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    jpeg_quality: int = Field(85, ge=10, le=100, description="JPEG quality of keyframes.")
    clip_before_s: float = Field(
        4.0, ge=0, le=60, description="Seconds before onset put in the clip."
    )
    clip_after_s: float = Field(
        4.0, ge=0, le=60, description="Seconds after onset put in the clip."
    )
    clip_crf: int = Field(28, ge=0, le=51, description="H.264 quality of clips (lower = better).")
    max_clip_width: int = Field(
        1280,
        ge=64,
        le=7680,
        description="Clips that are encoded (not remuxed) and wider than this are scaled down.",
    )
    clip_full_rate: bool = Field(
        True,
        description="Clips at the camera's own frame rate, from a buffer of its compressed "
        "packets: H.264 is copied as it came (starting at the keyframe before the clip's "
        "start), other codecs are decoded and encoded to H.264 around incidents only. False: "
        "clips of the sampled frames (a few per second).",
    )
    clip_buffer_mb: int = Field(
        48,
        ge=1,
        le=2048,
        description="Most compressed video kept per camera for full-rate clips (MB); covers "
        "clip_before_s + clip_after_s plus a GOP and pipeline lag at normal camera bitrates.",
    )


class StorageConfig(BaseModel):
    """Database and media locations."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    database_url: str = Field(
        "sqlite:///data/vigil.db",
        description="SQLAlchemy URL: sqlite:///PATH (embedded) or postgresql+psycopg://...",
    )
    media_dir: str = Field("data/media", description="Where keyframes and clips are written.")
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    media: MediaConfig = Field(default_factory=MediaConfig)
    sqlite_busy_timeout_s: float = Field(
        10.0, ge=0, le=600, description="SQLite: how long a writer waits for a lock."
    )
    sqlite_synchronous: Literal["FULL", "NORMAL"] = Field(
        "FULL",
        description="SQLite fsync policy: FULL survives power loss; NORMAL is faster (WAL).",
    )
    journal_dir: str | None = Field(
        None,
        description="Where accepted incident updates are journalled (fsync'd) before the "
        "database stores them; replayed at start. Keep it on a local disk, outside media_dir. "
        "Default: a 'journal' folder beside the SQLite database file, else data/journal.",
    )
    pool_size: int = Field(5, ge=1, le=100, description="PostgreSQL connection pool size.")
    connect_timeout_s: float = Field(
        10.0, gt=0, le=300, description="PostgreSQL: give up connecting after this."
    )
    statement_timeout_s: float = Field(
        15.0,
        gt=0,
        le=3600,
        description="PostgreSQL: a statement (or a lock wait) running longer is cancelled.",
    )
    tcp_keepalive_s: float = Field(
        10.0,
        ge=1,
        le=3600,
        description="PostgreSQL: TCP keepalive idle time; a dead server is noticed within "
        "about twice this.",
    )

    def sqlite_path(self) -> Path | None:
        """The SQLite database file of ``database_url`` (None for PostgreSQL or in-memory)."""
        url = self.database_url
        if not url.startswith("sqlite:///"):
            return None
        db = url.removeprefix("sqlite:///").split("?", 1)[0]
        if not db or db == ":memory:" or db.startswith("file:"):
            return None
        return Path(db).expanduser()

    def journal_path(self) -> Path:
        """The journal folder: ``journal_dir``, else beside the SQLite file, else data/journal."""
        if self.journal_dir:
            return Path(self.journal_dir).expanduser()
        db = self.sqlite_path()
        return db.parent / "journal" if db is not None else Path("data/journal")


class KafkaConfig(BaseModel):
    """Kafka connection for publishing incidents and reports."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bootstrap_servers: str = Field(..., min_length=1, description="host:port[,host:port...]")
    topic_prefix: str = Field(
        "vigil", pattern=r"^[A-Za-z0-9._-]+$", description="Topics are <prefix>.incidents/.reports"
    )
    client_id: str = Field("vigil", min_length=1, max_length=128, description="Kafka client id.")
    enable_idempotence: bool = Field(
        True,
        description="Idempotent producer (no broker-side duplicates, strict order); Vigil falls "
        "back to a plain acks=all producer when the broker refuses it.",
    )
    request_timeout_s: float = Field(
        10.0, ge=1, le=300, description="A send not acknowledged in this time is retried."
    )
    retry_backoff_max_s: float = Field(
        5.0, ge=0.1, le=300, description="Longest wait between retries while the broker is down."
    )
    create_topics: bool = Field(
        True, description="Create the two topics at start-up when they are missing."
    )
    partitions: int = Field(6, ge=1, le=10000, description="Partitions of topics Vigil creates.")
    replication_factor: int = Field(
        1, ge=1, le=100, description="Replication factor of topics Vigil creates."
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="Kafka security protocol."
    )
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        None, description="SASL mechanism when security_protocol is SASL_*."
    )
    sasl_username: str | None = Field(None, description="SASL user name.")
    sasl_password: SecretStr | None = Field(
        None, description="SASL password (use ${ENV_VAR}; never printed)."
    )


class BusConfig(BaseModel):
    """Where incident messages go. Without kafka, only in-process subscribers get them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kafka: KafkaConfig | None = Field(None, description="Omit for the in-process bus only.")
    outbox_batch: int = Field(
        500, ge=1, le=100000, description="Outbox rows the publisher sends per round."
    )
    outbox_poll_s: float = Field(
        1.0, gt=0, le=60, description="How often the publisher looks for rows without a notify."
    )
    outbox_keep_days: float = Field(
        7.0,
        ge=0,
        le=3650,
        description="Sent outbox rows and live-feed events are deleted after this many days.",
    )
