"""Hiding credentials in anything Vigil logs, prints or stores: the one masker of the code base.

Masking goes by the URL's structure, never by searching the password everywhere (a password
``1`` must not turn ``127.0.0.1`` into ``***27.0.0.***``):

* in a URL ``scheme://user:password@host...`` the password is what lies between the first
  ``:`` of the user info and the **last** ``@`` of the URL's first token (FFmpeg, urllib and
  people all allow ``@ : / # ?`` and ``%`` in passwords, so nothing stops the password
  earlier); secret query values (``?password=``, ``token=``, ...) too;
* in free text (a log line, a driver's error message), every URL is masked so, and every
  *known* secret of at least ``MIN_KNOWN_SECRET`` characters (``register_secret``: camera and
  database passwords, API keys, read from the config) is replaced wherever it appears, also
  percent-decoded, since drivers quote passwords back in their messages.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote

#: Shorter known secrets are not searched for in free text (they would mask ordinary words).
MIN_KNOWN_SECRET = 4
MASK = "***"

_SECRET_KEYS = frozenset(
    {"password", "passwd", "pwd", "pass", "token", "api_key", "apikey", "secret", "access_token"}
)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# In free text a URL runs to the next whitespace; its user info to the last '@' before it.
_URL_IN_TEXT = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<rest>\S+)")
_QUERY_SECRET = re.compile(
    r"(?i)(?P<key>[?&;](?:" + "|".join(sorted(_SECRET_KEYS)) + r")=)(?P<value>[^&#\s]+)"
)

_known: set[str] = set()
_known_lock = threading.Lock()


def _split(rest: str) -> tuple[str, str | None, str]:
    """``rest`` (after ``scheme://``) as (user, password or None, after the '@')."""
    at = rest.rfind("@")
    if at < 0:
        return "", None, rest
    userinfo, after = rest[:at], rest[at + 1 :]
    if ":" not in userinfo:
        return userinfo, None, after
    user, password = userinfo.split(":", 1)
    return user, password, after


def url_secrets(url: str) -> list[str]:
    """The secrets in ``url``: the password of its user info and secret query values."""
    m = _SCHEME.match(url.strip())
    if m is None:
        return []
    _user, password, after = _split(url.strip()[m.end() :])
    found = [password] if password else []
    query = after.split("?", 1)[1].split("#", 1)[0] if "?" in after else ""
    for key, value in parse_qsl(query, keep_blank_values=False):
        if key.lower() in _SECRET_KEYS and value:
            found.append(value)
    return found


def _mask_rest(scheme: str, rest: str) -> str:
    user, password, after = _split(rest)
    head = f"{user}:{MASK}@" if password is not None else (f"{user}@" if "@" in rest else "")
    masked_after = _QUERY_SECRET.sub(lambda q: f"{q['key']}{MASK}", after)
    return f"{scheme}{head}{masked_after}"


def mask_url(url: str) -> str:
    """``url`` with its password and secret query values replaced by ``***``.

    A URL is one token: a password with spaces is masked whole here (in free text, only
    ``mask_text``'s known secrets can find it).
    """
    stripped = url.strip()
    m = _SCHEME.match(stripped)
    if m is None:
        # no scheme (a typo such as ``postgresql//user:pw@host``): still mask user:pw@
        at = stripped.rfind("@")
        head = stripped[:at] if at > 0 else ""
        cut = head.rfind("/") + 1
        if ":" in head[cut:] and "://" not in stripped and not any(c.isspace() for c in stripped):
            user = head[cut:].split(":", 1)[0]
            return _mask_known(f"{head[:cut]}{user}:{MASK}{stripped[at:]}")
        return mask_text(url)
    return _mask_known(_mask_rest(m.group(0), stripped[m.end() :]))


def register_secret(value: str | None) -> None:
    """Remember a secret (a password, an API key) so that free text never shows it."""
    if value and len(value) >= MIN_KNOWN_SECRET:
        with _known_lock:
            _known.add(value)
            decoded = unquote(value)
            if decoded != value and len(decoded) >= MIN_KNOWN_SECRET:
                _known.add(decoded)


def register_url_secrets(url: str) -> None:
    """``register_secret`` for every secret of ``url``."""
    for secret in url_secrets(url):
        register_secret(secret)


def _mask_known(text: str, extra: Iterable[str] = ()) -> str:
    with _known_lock:
        known = set(_known)
    known.update(s for s in extra if len(s) >= MIN_KNOWN_SECRET)
    for secret in sorted(known, key=len, reverse=True):  # a secret inside another: whole
        text = text.replace(secret, MASK)
    return text


def mask_text(text: str, url: str | None = None) -> str:
    """``text`` (a log line, an error message) with every credential masked.

    URLs in it are masked by structure; known secrets (registered, and those of ``url`` when
    given: the source the message is about) are replaced wherever they appear.
    """
    masked = _URL_IN_TEXT.sub(lambda m: _mask_rest(m["scheme"], m["rest"]), text)
    masked = _QUERY_SECRET.sub(lambda q: f"{q['key']}{MASK}", masked)
    extra: list[str] = []
    if url is not None:
        for secret in url_secrets(url):
            extra += [secret, unquote(secret)]
    return _mask_known(masked, extra)
