"""Typed, keyword-only repository functions over a SQLAlchemy ``Session``.

They never commit: the caller (``storage.store.Store``) owns the transaction, so an incident
change, its report and the outbox rows announcing them commit together or not at all.

The functions live in one module per concern and are re-exported here:
``storage.repo_incidents`` (cameras, incident updates, crash recovery, operator feedback),
``storage.repo_reports``, ``storage.repo_history`` (list, count, detail, id lookup),
``storage.repo_media`` and ``storage.repo_outbox``.
"""

from __future__ import annotations

from storage.repo_history import (
    count_incidents,
    find_incident_ids,
    get_incident,
    list_incidents,
)
from storage.repo_incidents import (
    FEEDBACK_ACTIONS,
    add_feedback,
    camera_exists,
    interrupted_closes,
    record_update,
    update_exists,
    upsert_camera,
)
from storage.repo_media import (
    add_media,
    delete_media_rows,
    media_for_retention,
    media_refs,
)
from storage.repo_outbox import (
    last_outbox_id,
    mark_outbox_failed,
    mark_outbox_sent,
    outbox_backlog,
    pending_outbox,
    prune_outbox,
)
from storage.repo_reports import add_report

__all__ = [
    "FEEDBACK_ACTIONS",
    "add_feedback",
    "add_media",
    "add_report",
    "camera_exists",
    "count_incidents",
    "delete_media_rows",
    "find_incident_ids",
    "get_incident",
    "interrupted_closes",
    "last_outbox_id",
    "list_incidents",
    "mark_outbox_failed",
    "mark_outbox_sent",
    "media_for_retention",
    "media_refs",
    "outbox_backlog",
    "pending_outbox",
    "prune_outbox",
    "record_update",
    "update_exists",
    "upsert_camera",
]
