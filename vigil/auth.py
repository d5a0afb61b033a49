"""Secrets of the operator service: argon2 password hashes, API tokens, session ids.

Only hashes are stored: argon2id for passwords (slow on purpose), SHA-256 for random tokens
and session ids (they carry 256 bits of entropy, so a fast hash is enough).
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

#: Token prefix, so a leaked token is recognisable in logs and secret scanners.
TOKEN_PREFIX = "vgl_"
#: Shortest password ``vigil users`` accepts.
MIN_PASSWORD_CHARS = 10

_HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True if ``password`` matches ``password_hash`` (never raises for a wrong one)."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_password_strength(password: str) -> str | None:
    """Why ``password`` is refused, or None if it is acceptable."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"a password needs at least {MIN_PASSWORD_CHARS} characters"
    if password.strip() != password:
        return "a password may not start or end with white space"
    return None


def generate_password() -> str:
    """A random password for a new user (about 100 bits)."""
    return secrets.token_urlsafe(16)


def new_token() -> str:
    """A new API token (shown once; store only ``secret_hash`` of it)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_session_id() -> str:
    """A new browser session id (the cookie's value)."""
    return secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    """The SHA-256 (hex) under which a token or session id is stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
