"""search vectors: an index on (model, dim, created_ts_s) of report_embeddings

The in-memory vector index checks per search whether the table changed (count and newest
``created_ts_s`` of its model); without this index that check reads the whole table, vectors
included.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 19:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_index(
        "ix_report_embeddings_model_created",
        "report_embeddings",
        ["model", "dim", "created_ts_s"],
    )


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index("ix_report_embeddings_model_created", table_name="report_embeddings")
