"""The outbox: rows written with the change they announce, sent later by the publisher."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from storage import messages
from storage.models import OutboxRow
from storage.records import OutboxMessage


def add_outbox_row(
    session: Session,
    *,
    topic: str,
    key: str,
    incident_id: str,
    version: int,
    message: dict[str, Any],
    now_s: float,
) -> None:
    """Queue one message for the publisher (unsent, no attempts yet)."""
    session.add(
        OutboxRow(
            topic=topic,
            key=key,
            incident_id=incident_id,
            version=version,
            payload=messages.encode(message),
            created_ts_s=now_s,
            sent_ts_s=None,
            attempts=0,
        )
    )


def pending_outbox(session: Session, *, limit: int, after_id: int = 0) -> list[OutboxMessage]:
    """Unsent outbox rows with ``id > after_id``, oldest first."""
    rows = session.scalars(
        select(OutboxRow)
        .where(OutboxRow.sent_ts_s.is_(None), OutboxRow.id > after_id)
        .order_by(OutboxRow.id)
        .limit(limit)
    )
    return [
        OutboxMessage(
            id=r.id,
            topic=r.topic,
            key=r.key,
            incident_id=r.incident_id,
            version=r.version,
            payload=r.payload,
            attempts=r.attempts,
        )
        for r in rows
    ]


def mark_outbox_sent(session: Session, *, ids: Sequence[int], ts_s: float) -> None:
    """Mark outbox rows as delivered."""
    for chunk in _chunks(ids):
        session.execute(update(OutboxRow).where(OutboxRow.id.in_(chunk)).values(sent_ts_s=ts_s))


def mark_outbox_failed(session: Session, *, ids: Sequence[int], error: str) -> None:
    """Count a failed delivery attempt and keep the last error."""
    for chunk in _chunks(ids):
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.id.in_(chunk))
            .values(attempts=OutboxRow.attempts + 1, last_error=error[:2000])
        )


def last_outbox_id(session: Session) -> int:
    """The id of the newest outbox row (0 when empty)."""
    return int(session.scalar(select(func.max(OutboxRow.id))) or 0)


def outbox_backlog(session: Session) -> int:
    """How many outbox rows wait to be sent."""
    return int(
        session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.sent_ts_s.is_(None))
        )
        or 0
    )


def oldest_unsent_ts(session: Session) -> float | None:
    """When the oldest unsent outbox row was written (None when nothing waits)."""
    value = session.scalar(
        select(func.min(OutboxRow.created_ts_s)).where(OutboxRow.sent_ts_s.is_(None))
    )
    return None if value is None else float(value)


def prune_outbox(session: Session, *, sent_before_s: float) -> int:
    """Delete rows sent before ``sent_before_s``; returns how many."""
    res = session.execute(
        delete(OutboxRow).where(
            OutboxRow.sent_ts_s.is_not(None), OutboxRow.sent_ts_s < sent_before_s
        )
    )
    return int(getattr(res, "rowcount", 0) or 0)


def _chunks(ids: Sequence[int], size: int = 500) -> list[list[int]]:
    items = list(ids)
    return [items[i : i + size] for i in range(0, len(items), size)]
