"""runtime cameras: cameras added through the API, kept across restarts

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 08:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "runtime_cameras",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("created_ts_s", sa.Double(), nullable=False),
        sa.Column("updated_ts_s", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runtime_cameras")),
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_table("runtime_cameras")
