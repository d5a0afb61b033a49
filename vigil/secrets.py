"""Masking of credentials in URLs and in free text (log lines, error messages)."""

from __future__ import annotations

import re

from streamer.masking import mask_url as _mask_one_url

# user:password@ in any URL inside free text; the password runs to the last '@' of the
# authority, since FFmpeg and urllib split there too (a password may contain '@')
_USERINFO = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^\s/]*)@(?=[^@\s/]*(?:[/?#\s]|$))"
)
_QUERY_SECRET = re.compile(
    r"(?i)(?P<key>[?&;](?:password|passwd|pwd|pass|token|api_key|apikey|secret)=)[^&\s]+"
)


def mask_url(text: str) -> str:
    """Replace passwords (``user:pw@``) and secret query values in ``text`` with ``***``.

    ``text`` may be one URL or free text with URLs in it.
    """
    stripped = text.strip()
    if stripped and " " not in stripped and "://" in stripped:
        text = _mask_one_url(text)
    masked = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    return _QUERY_SECRET.sub(lambda m: f"{m['key']}***", masked)
