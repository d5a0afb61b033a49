"""history search: report embeddings, and full text over reports (SQLite FTS5 kept in step
by triggers; a PostgreSQL GIN index on the english tsvector of title, summary and action)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 08:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
# 0002 (the operator service) is this code's previous head; 0001 would make two heads
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The indexed document; storage.search queries the same expression (so the index is used).
PG_DOCUMENT = "to_tsvector('english'::regconfig, title || ' ' || summary || ' ' || action)"

_SQLITE_UP = [
    "CREATE VIRTUAL TABLE reports_fts USING fts5("
    "title, summary, action, content='reports', content_rowid='id', "
    "tokenize='porter unicode61')",
    "CREATE TRIGGER reports_fts_ai AFTER INSERT ON reports BEGIN "
    "INSERT INTO reports_fts(rowid, title, summary, action) "
    "VALUES (new.id, new.title, new.summary, new.action); END",
    "CREATE TRIGGER reports_fts_ad AFTER DELETE ON reports BEGIN "
    "INSERT INTO reports_fts(reports_fts, rowid, title, summary, action) "
    "VALUES ('delete', old.id, old.title, old.summary, old.action); END",
    "CREATE TRIGGER reports_fts_au AFTER UPDATE ON reports BEGIN "
    "INSERT INTO reports_fts(reports_fts, rowid, title, summary, action) "
    "VALUES ('delete', old.id, old.title, old.summary, old.action); "
    "INSERT INTO reports_fts(rowid, title, summary, action) "
    "VALUES (new.id, new.title, new.summary, new.action); END",
    "INSERT INTO reports_fts(reports_fts) VALUES ('rebuild')",
]
_SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS reports_fts_au",
    "DROP TRIGGER IF EXISTS reports_fts_ad",
    "DROP TRIGGER IF EXISTS reports_fts_ai",
    "DROP TABLE IF EXISTS reports_fts",
]


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "report_embeddings",
        sa.Column(
            "report_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_ts_s", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_report_embeddings_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("report_id", "model", name=op.f("pk_report_embeddings")),
    )
    if op.get_bind().dialect.name == "sqlite":
        for stmt in _SQLITE_UP:
            op.execute(stmt)
    else:
        op.execute(f"CREATE INDEX ix_reports_fts ON reports USING gin ({PG_DOCUMENT})")


def downgrade() -> None:
    """Revert this migration."""
    if op.get_bind().dialect.name == "sqlite":
        for stmt in _SQLITE_DOWN:
            op.execute(stmt)
    else:
        op.execute("DROP INDEX IF EXISTS ix_reports_fts")
    op.drop_table("report_embeddings")
