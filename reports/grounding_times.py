"""Grounding of times: stamps, clock times, dates and day words must fall within the incident.

ISO 8601 stamps, clock times (``14:03``, ``2:03 pm``, with ``UTC`` or an offset converted),
dates, weekdays and parts of the day are read in the site's time zone and must fall within the
incident (to the second where seconds are given, else to the minute); ``yesterday`` and the like
never fit. Each one found is masked so the later checks (numbers, identifiers) skip it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from datetime import time as dtime

from reports.evidence import Evidence

#: What a checked claim is replaced with, so that later checks skip it.
MASK = "⟦⟧"

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for m in names
}
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TZ_SUFFIX = r"(?:\s*(?P<tz>Z|UTC|GMT|[+-]\d{2}:?\d{2}))?"
_ISO = re.compile(
    r"\b(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})[T ](?P<h>\d{1,2}):(?P<mi>\d{2})"
    r"(?::(?P<s>\d{2})(?:\.\d+)?)?" + _TZ_SUFFIX,
    re.IGNORECASE,
)
_DATE_ISO = re.compile(r"\b(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})\b")
_DATE_DMY = re.compile(
    rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{_MONTH_RE})\.?(?:,?\s+(?P<y>\d{{4}}))?\b",
    re.IGNORECASE,
)
_DATE_MDY = re.compile(
    rf"\b(?P<mon>{_MONTH_RE})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<y>\d{{4}}))?\b",
    re.IGNORECASE,
)
_DATE_SLASH = re.compile(r"\b(?P<a>\d{1,2})[/.](?P<b>\d{1,2})[/.](?P<y>\d{4})\b")
_CLOCK = re.compile(
    r"\b(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?"
    r"(?:\s*(?P<ampm>[ap]\.?m\.?)(?![a-z]))?" + _TZ_SUFFIX,
    re.IGNORECASE,
)
_CLOCK_AMPM = re.compile(r"\b(?P<h>\d{1,2})\s*(?P<ampm>[ap]\.?m\.?)(?![a-z])", re.IGNORECASE)
_RELATIVE_DAYS = re.compile(
    r"\b(?:yesterday|tomorrow|last (?:night|week|month|year)|next (?:week|month|day)|"
    r"(?:days?|weeks?|months?|years?) ago)\b",
    re.IGNORECASE,
)
_PARTS_OF_DAY = {"morning": (5, 12), "afternoon": (12, 18), "evening": (17, 23), "night": (21, 30)}
_PART_OF_DAY = re.compile(
    r"\b(?:in the |this |at |during the )?(morning|afternoon|evening|night)\b", re.IGNORECASE
)


def span(evidence: Evidence) -> tuple[float, float]:
    """The incident's (start, end) timestamps; the end is its last sample while it is open."""
    end = evidence.closed_ts_s if evidence.closed_ts_s is not None else evidence.last_ts_s
    return evidence.opened_ts_s, max(end, evidence.opened_ts_s)


def local_dates(evidence: Evidence) -> set[date]:
    """The site-local dates the incident spans."""
    start, end = span(evidence)
    first = evidence.local_time(start).date()
    last = evidence.local_time(end).date()
    days = {first, last}
    d = first
    while d < last:
        d += timedelta(days=1)
        days.add(d)
    return days


def check_times(text: str, evidence: Evidence, problems: list[str]) -> str:
    """Mask every time and date in ``text``; list in ``problems`` those outside the incident."""
    check = _TimeCheck(evidence, problems)
    text = _ISO.sub(check.iso, text)
    text = _mask_dates(text, check)
    text = _CLOCK.sub(check.clock, text)
    text = _CLOCK_AMPM.sub(check.clock, text)
    _check_day_words(text, evidence, check.dates, problems)
    return text


def _tzinfo(tz: str | None, evidence: Evidence) -> tzinfo:
    """The zone a stamp names (``Z``, ``UTC``, ``+02:00``), else the site's."""
    if tz is None:
        return evidence.tz
    tz = tz.upper()
    if tz in ("Z", "UTC", "GMT"):
        return UTC
    sign = -1 if tz[0] == "-" else 1
    digits = tz[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _instant_ok(when: datetime, evidence: Evidence, tol_s: float) -> bool:
    """Whether ``when`` lies within the incident, give or take ``tol_s``."""
    start, end = span(evidence)
    ts = when.timestamp()
    return start - tol_s <= ts <= end + tol_s


def _clock_hours(hour: int, ampm: str) -> list[int]:
    """The 24-hour readings of a clock hour (both halves of the day when neither is said)."""
    if ampm:
        return [hour % 12 + (12 if ampm == "pm" else 0)]
    if hour <= 12:
        return [hour, (hour + 12) % 24]
    return [hour % 24]


class _TimeCheck:
    """Checks one text's stamps, dates and clock times against one incident (``re.sub`` hooks)."""

    def __init__(self, evidence: Evidence, problems: list[str]) -> None:
        self.evidence = evidence
        self.problems = problems
        self.dates = local_dates(evidence)

    def iso(self, m: re.Match[str]) -> str:
        """An ISO 8601 stamp: a valid instant within the incident."""
        try:
            when = datetime(
                int(m["y"]),
                int(m["mo"]),
                int(m["d"]),
                int(m["h"]),
                int(m["mi"]),
                int(m["s"] or 0),
                tzinfo=_tzinfo(m["tz"], self.evidence),
            )
        except ValueError:
            self.problems.append(f"time {m[0]!r} is not a valid time")
            return MASK
        if not _instant_ok(when, self.evidence, 1.0 if m["s"] else 60.0):
            self.problems.append(f"time {m[0].strip()!r} is not within the incident")
        return MASK

    def date(self, raw: str, candidates: Iterable[tuple[int | None, int, int]]) -> str:
        """A date: one of its (year or None, month, day) readings is a date of the incident."""
        ok = False
        for y, mo, d in candidates:
            ok = ok or any(
                day.month == mo and day.day == d and (y is None or day.year == y)
                for day in self.dates
            )
        if not ok:
            self.problems.append(f"date {raw.strip()!r} is not the incident's date")
        return MASK

    def clock(self, m: re.Match[str]) -> str:
        """A clock time: valid, and on some reading (am/pm, day either side) within the incident."""
        hour, minute = int(m["h"]), int(m["mi"]) if "mi" in m.groupdict() and m["mi"] else 0
        second = int(m["s"]) if m.groupdict().get("s") else None
        ampm = (m["ampm"] or "").replace(".", "").lower()
        if hour > 24 or minute > 59 or (second or 0) > 59:
            self.problems.append(f"time {m[0].strip()!r} is not a valid time")
            return MASK
        hours = _clock_hours(hour, ampm)
        tz = _tzinfo(m.groupdict().get("tz"), self.evidence)
        tol = 1.0 if second is not None else 60.0
        dates = self.dates
        for day in (
            dates | {d - timedelta(days=1) for d in dates} | {d + timedelta(days=1) for d in dates}
        ):
            for h in hours:
                when = datetime.combine(day, dtime(h, minute, second or 0), tzinfo=tz)
                if _instant_ok(when, self.evidence, tol):
                    return MASK
        self.problems.append(f"time {m[0].strip()!r} is not within the incident")
        return MASK


def _mask_dates(text: str, check: _TimeCheck) -> str:
    """Check and mask ISO, day-month, month-day and slashed dates (the latter read both ways)."""
    text = _DATE_ISO.sub(
        lambda m: check.date(m[0], [(int(m["y"]), int(m["mo"]), int(m["d"]))]), text
    )
    text = _DATE_DMY.sub(
        lambda m: check.date(
            m[0], [(int(m["y"]) if m["y"] else None, _MONTHS[m["mon"].lower()], int(m["d"]))]
        ),
        text,
    )
    text = _DATE_MDY.sub(
        lambda m: check.date(
            m[0], [(int(m["y"]) if m["y"] else None, _MONTHS[m["mon"].lower()], int(m["d"]))]
        ),
        text,
    )
    return _DATE_SLASH.sub(
        lambda m: check.date(
            m[0], [(int(m["y"]), int(m["b"]), int(m["a"])), (int(m["y"]), int(m["a"]), int(m["b"]))]
        ),
        text,
    )


def _check_day_words(text: str, evidence: Evidence, dates: set[date], problems: list[str]) -> None:
    """Weekdays must be the incident's, parts of the day fit its local hours; no relative days."""
    weekdays = {_WEEKDAYS[d.weekday()] for d in dates}
    for m in re.finditer(r"\b(" + "|".join(_WEEKDAYS) + r")s?\b", text, re.IGNORECASE):
        if m[1].lower() not in weekdays:
            problems.append(f"weekday {m[1]!r} is not the incident's day")
    for m in _RELATIVE_DAYS.finditer(text):
        problems.append(f"{m[0]!r} does not fit the incident's time")
    start, end = span(evidence)
    hours = {evidence.local_time(t).hour for t in (start, end)}
    for m in _PART_OF_DAY.finditer(text):
        lo, hi = _PARTS_OF_DAY[m[1].lower()]
        if not any(lo <= h < hi or lo <= h + 24 < hi for h in hours):
            problems.append(f"{m[1]!r} does not fit the incident's local time")
