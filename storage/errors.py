"""Errors raised by the storage stage. Every message names what failed and where."""

from __future__ import annotations


class StorageError(Exception):
    """A database or media operation failed; the message says what and where."""


class SchemaOutOfDate(StorageError):
    """The database schema is not the one this version of Vigil expects."""


class ConstraintViolation(StorageError):
    """A write broke a database constraint (unknown camera, unknown incident, ...)."""


class StorageFull(StorageError):
    """The disk holding the database or the media is full; nothing was half-written."""


class AmbiguousIncidentId(StorageError):
    """An incident id prefix matches more than one incident."""

    def __init__(self, prefix: str, candidates: list[str]) -> None:
        self.prefix = prefix
        self.candidates = candidates
        shown = ", ".join(candidates[:5]) + (", ..." if len(candidates) > 5 else "")
        super().__init__(f"incident id prefix {prefix!r} matches {len(candidates)}: {shown}")


class MediaError(StorageError):
    """A keyframe or clip could not be written or is outside the media directory."""
