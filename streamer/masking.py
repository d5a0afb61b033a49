"""Hiding credentials of source URLs in anything Vigil logs or shows."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

_SECRET_KEYS = frozenset(
    {"password", "passwd", "pwd", "pass", "token", "api_key", "apikey", "secret"}
)


def url_secrets(url: str) -> list[str]:
    """The secret substrings of ``url``: the password of ``user:pw@`` and secret query values."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found: list[str] = []
    netloc = parts.netloc
    if "@" in netloc:
        userinfo = netloc.rsplit("@", 1)[0]
        if ":" in userinfo:
            password = userinfo.split(":", 1)[1]
            if password:
                found.append(password)
    for key, value in parse_qsl(parts.query, keep_blank_values=False):
        if key.lower() in _SECRET_KEYS and value:
            found.append(value)
    return found


def mask_url(url: str) -> str:
    """``url`` with its password and secret query values replaced by ``***``."""
    return mask_text(url, url)


def mask_text(text: str, url: str) -> str:
    """``text`` (e.g. an FFmpeg error message) with every secret of ``url`` replaced by ``***``."""
    # Longest first so that a secret containing another one is masked whole.
    for secret in sorted(url_secrets(url), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
