"""Media rows (keyframes, clips) of incidents."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.models import (
    Incident,
    MediaRow,
)
from storage.records import (
    MediaRef,
    StoredMedia,
)


def add_media(session: Session, *, ref: MediaRef, now_s: float) -> bool:
    """Record a media file of an incident; False if its path is already recorded."""
    found = session.scalar(select(MediaRow.id).where(MediaRow.path == ref.path))
    if found is not None:
        return False
    session.add(
        MediaRow(
            incident_id=ref.incident_id,
            kind=ref.kind,
            path=ref.path,
            content_type=ref.content_type,
            ts_s=ref.ts_s,
            bytes=ref.bytes,
            width=ref.width,
            height=ref.height,
            duration_s=ref.duration_s,
            created_ts_s=now_s,
        )
    )
    return True


def media_ref(m: MediaRow) -> MediaRef:
    """A media row as a ``MediaRef``."""
    return MediaRef(
        incident_id=m.incident_id,
        kind=m.kind,
        path=m.path,
        content_type=m.content_type,
        ts_s=m.ts_s,
        bytes=m.bytes,
        width=m.width,
        height=m.height,
        duration_s=m.duration_s,
    )


def media_refs(session: Session, *, incident_id: str) -> list[MediaRef]:
    """The media of one incident, oldest first."""
    rows = session.scalars(
        select(MediaRow).where(MediaRow.incident_id == incident_id).order_by(MediaRow.id)
    )
    return [media_ref(m) for m in rows]


def media_for_retention(session: Session) -> list[StoredMedia]:
    """Every media row, oldest first, with whether its incident is still open."""
    rows = session.execute(
        select(MediaRow, Incident.closed_ts_s)
        .join(Incident, Incident.id == MediaRow.incident_id)
        .order_by(MediaRow.created_ts_s, MediaRow.id)
    ).all()
    return [
        StoredMedia(id=m.id, ref=media_ref(m), created_ts_s=m.created_ts_s, incident_open=c is None)
        for m, c in rows
    ]


def delete_media_rows(session: Session, *, ids: Sequence[int]) -> None:
    """Forget media rows (their files are deleted by the media store)."""
    if ids:
        session.execute(delete(MediaRow).where(MediaRow.id.in_(list(ids))))


def media_with_ids(session: Session, *, incident_id: str) -> list[tuple[int, MediaRef]]:
    """The media of one incident with their row ids (the API's media ids), oldest first."""
    rows = session.scalars(
        select(MediaRow).where(MediaRow.incident_id == incident_id).order_by(MediaRow.id)
    )
    return [(m.id, media_ref(m)) for m in rows]


def media_by_id(session: Session, *, media_id: int) -> tuple[MediaRef, str] | None:
    """One media row and its incident's camera id, or None."""
    row = session.execute(
        select(MediaRow, Incident.camera_id)
        .join(Incident, Incident.id == MediaRow.incident_id)
        .where(MediaRow.id == media_id)
    ).first()
    return None if row is None else (media_ref(row[0]), row[1])
