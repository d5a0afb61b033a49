"""Users, API tokens and browser sessions. Secrets are stored only as hashes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.errors import StorageError
from storage.models import ApiTokenRow, SessionRow, UserRow

#: Roles, least to most privileged.
ROLES = ("viewer", "operator", "admin")


class AuthStoreError(StorageError):
    """A user or token that does not exist, or a name already taken."""


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user as the service sees it (never the password hash)."""

    id: int
    name: str
    role: str
    cameras: tuple[str, ...] | None
    created_ts_s: float
    password_ts_s: float


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """An API token as the service sees it (never the token)."""

    id: int
    name: str
    role: str
    cameras: tuple[str, ...] | None
    created_ts_s: float
    revoked_ts_s: float | None
    last_used_ts_s: float | None


def _cams(value: Sequence[str] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


def _user(row: UserRow) -> UserRecord:
    return UserRecord(
        row.id, row.name, row.role, _cams(row.cameras), row.created_ts_s, row.password_ts_s
    )


def _token(row: ApiTokenRow) -> TokenRecord:
    return TokenRecord(
        row.id,
        row.name,
        row.role,
        _cams(row.cameras),
        row.created_ts_s,
        row.revoked_ts_s,
        row.last_used_ts_s,
    )


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AuthStoreError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")


def add_user(
    session: Session,
    *,
    name: str,
    role: str,
    password_hash: str,
    cameras: Sequence[str] | None,
    now_s: float,
) -> UserRecord:
    """Create a user; a taken name is an error."""
    _check_role(role)
    if session.scalar(select(UserRow.id).where(UserRow.name == name)) is not None:
        raise AuthStoreError(f"user {name!r} already exists")
    row = UserRow(
        name=name,
        role=role,
        password_hash=password_hash,
        cameras=None if cameras is None else list(cameras),
        created_ts_s=now_s,
        password_ts_s=now_s,
    )
    session.add(row)
    session.flush()
    return _user(row)


def _user_row(session: Session, name: str) -> UserRow:
    row = session.scalar(select(UserRow).where(UserRow.name == name))
    if row is None:
        raise AuthStoreError(f"no user {name!r}")
    return row


def user_with_hash(session: Session, *, name: str) -> tuple[UserRecord, str] | None:
    """A user and its password hash (for checking a login), or None."""
    row = session.scalar(select(UserRow).where(UserRow.name == name))
    return None if row is None else (_user(row), row.password_hash)


def list_users(session: Session) -> list[UserRecord]:
    """Every user, by name."""
    return [_user(r) for r in session.scalars(select(UserRow).order_by(UserRow.name))]


def remove_user(session: Session, *, name: str) -> None:
    """Delete a user and its sessions."""
    row = _user_row(session, name)
    session.execute(delete(SessionRow).where(SessionRow.user_id == row.id))
    session.delete(row)


def set_password(session: Session, *, name: str, password_hash: str, now_s: float) -> None:
    """Replace a user's password; every session of that user ends."""
    row = _user_row(session, name)
    row.password_hash, row.password_ts_s = password_hash, now_s
    session.execute(delete(SessionRow).where(SessionRow.user_id == row.id))


def add_session(
    session: Session, *, session_hash: str, user_id: int, now_s: float, expires_ts_s: float
) -> None:
    """Record a browser login."""
    session.add(
        SessionRow(id=session_hash, user_id=user_id, created_ts_s=now_s, expires_ts_s=expires_ts_s)
    )


def session_user(session: Session, *, session_hash: str, now_s: float) -> UserRecord | None:
    """The user of a live session, or None if it is unknown or expired."""
    row = session.get(SessionRow, session_hash)
    if row is None or row.expires_ts_s <= now_s:
        return None
    user = session.get(UserRow, row.user_id)
    return None if user is None else _user(user)


def remove_session(session: Session, *, session_hash: str) -> None:
    """End a browser session (logout)."""
    session.execute(delete(SessionRow).where(SessionRow.id == session_hash))


def add_token(
    session: Session,
    *,
    name: str,
    role: str,
    token_hash: str,
    cameras: Sequence[str] | None,
    now_s: float,
) -> TokenRecord:
    """Create an API token record; a taken name is an error."""
    _check_role(role)
    if session.scalar(select(ApiTokenRow.id).where(ApiTokenRow.name == name)) is not None:
        raise AuthStoreError(f"token {name!r} already exists")
    row = ApiTokenRow(
        name=name,
        role=role,
        token_hash=token_hash,
        cameras=None if cameras is None else list(cameras),
        created_ts_s=now_s,
        revoked_ts_s=None,
        last_used_ts_s=None,
    )
    session.add(row)
    session.flush()
    return _token(row)


def token_by_hash(session: Session, *, token_hash: str, now_s: float | None) -> TokenRecord | None:
    """The live (not revoked) token with this hash, marked used at ``now_s`` (None: only
    read); None when there is no such token."""
    row = session.scalar(select(ApiTokenRow).where(ApiTokenRow.token_hash == token_hash))
    if row is None or row.revoked_ts_s is not None:
        return None
    if now_s is not None:
        row.last_used_ts_s = now_s
    return _token(row)


def list_tokens(session: Session) -> list[TokenRecord]:
    """Every token record, by name."""
    return [_token(r) for r in session.scalars(select(ApiTokenRow).order_by(ApiTokenRow.name))]


def revoke_token(session: Session, *, name: str, now_s: float) -> None:
    """Revoke a token; it stops working at once."""
    row = session.scalar(select(ApiTokenRow).where(ApiTokenRow.name == name))
    if row is None:
        raise AuthStoreError(f"no token {name!r}")
    if row.revoked_ts_s is None:
        row.revoked_ts_s = now_s
