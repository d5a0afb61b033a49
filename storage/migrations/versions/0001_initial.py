"""initial schema

Revision ID: 0001
Revises:
Create Date: 2025-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# long-ok: a flat list of table definitions (the initial schema); splitting it hides nothing
def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "cameras",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("location", sa.String(length=256), nullable=True),
        sa.Column("url_masked", sa.String(length=2048), nullable=False),
        sa.Column("created_ts_s", sa.Double(), nullable=False),
        sa.Column("updated_ts_s", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cameras")),
    )
    op.create_table(
        "outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("incident_id", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_ts_s", sa.Double(), nullable=False),
        sa.Column("sent_ts_s", sa.Double(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index("ix_outbox_pending", "outbox", ["sent_ts_s", "id"], unique=False)

    op.create_table(
        "incidents",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_ts_s", sa.Double(), nullable=False),
        sa.Column("closed_ts_s", sa.Double(), nullable=True),
        sa.Column("last_ts_s", sa.Double(), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("peak_score", sa.Double(), nullable=False),
        sa.Column("mean_score", sa.Double(), nullable=False),
        sa.Column("zone", sa.String(length=128), nullable=True),
        sa.Column("onset_pts_s", sa.Double(), nullable=False),
        sa.Column("close_reason", sa.String(length=128), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"],
            ["cameras.id"],
            name=op.f("fk_incidents_camera_id_cameras"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_index(
        "ix_incidents_camera_opened", "incidents", ["camera_id", "opened_ts_s"], unique=False
    )
    op.create_index("ix_incidents_opened", "incidents", ["opened_ts_s"], unique=False)
    op.create_index(
        "ix_incidents_status_opened", "incidents", ["status", "opened_ts_s"], unique=False
    )
    op.create_index(
        "ix_incidents_type_opened", "incidents", ["event_type", "opened_ts_s"], unique=False
    )

    op.create_table(
        "feedback",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("incident_id", sa.String(length=128), nullable=False),
        sa.Column("ts_s", sa.Double(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("operator", sa.String(length=128), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_feedback_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
    )
    op.create_index(op.f("ix_feedback_incident_id"), "feedback", ["incident_id"], unique=False)

    op.create_table(
        "incident_updates",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("incident_id", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("ts_s", sa.Double(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("peak_score", sa.Double(), nullable=False),
        sa.Column("mean_score", sa.Double(), nullable=False),
        sa.Column("zone", sa.String(length=128), nullable=True),
        sa.Column("closed_ts_s", sa.Double(), nullable=True),
        sa.Column("close_reason", sa.String(length=128), nullable=True),
        sa.Column("cues", sa.JSON(), nullable=False),
        sa.Column("timeline", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_updates_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_updates")),
        sa.UniqueConstraint(
            "incident_id", "version", name=op.f("uq_incident_updates_incident_id_version")
        ),
    )
    op.create_table(
        "media",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("incident_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("ts_s", sa.Double(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("duration_s", sa.Double(), nullable=True),
        sa.Column("created_ts_s", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_media_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media")),
        sa.UniqueConstraint("path", name=op.f("uq_media_path")),
    )
    op.create_index(op.f("ix_media_created_ts_s"), "media", ["created_ts_s"], unique=False)
    op.create_index(op.f("ix_media_incident_id"), "media", ["incident_id"], unique=False)

    op.create_table(
        "reports",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("incident_id", sa.String(length=128), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("incident_version", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("backend", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=512), nullable=True),
        sa.Column("latency_s", sa.Double(), nullable=False),
        sa.Column("fallback_used", sa.Boolean(), nullable=False),
        sa.Column("fallback_reason", sa.Text(), nullable=True),
        sa.Column("created_ts_s", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_reports_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("incident_id", "seq", name=op.f("uq_reports_incident_id_seq")),
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_table("reports")
    op.drop_index(op.f("ix_media_incident_id"), table_name="media")
    op.drop_index(op.f("ix_media_created_ts_s"), table_name="media")

    op.drop_table("media")
    op.drop_table("incident_updates")
    op.drop_index(op.f("ix_feedback_incident_id"), table_name="feedback")

    op.drop_table("feedback")
    op.drop_index("ix_incidents_type_opened", table_name="incidents")
    op.drop_index("ix_incidents_status_opened", table_name="incidents")
    op.drop_index("ix_incidents_opened", table_name="incidents")
    op.drop_index("ix_incidents_camera_opened", table_name="incidents")

    op.drop_table("incidents")
    op.drop_index("ix_outbox_pending", table_name="outbox")

    op.drop_table("outbox")
    op.drop_table("cameras")
