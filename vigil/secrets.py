"""Masking of credentials in URLs and messages."""

from __future__ import annotations

import re

_USERINFO = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@\s/]*)@"
)
_QUERY_SECRET = re.compile(
    r"(?i)(?P<key>(?:password|passwd|pwd|token|api_key|apikey|secret)=)[^&\s]+"
)


def mask_url(text: str) -> str:
    """Replace passwords in URLs (``user:pw@``) and secret query values with ``***``."""
    masked = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    return _QUERY_SECRET.sub(lambda m: f"{m['key']}***", masked)
