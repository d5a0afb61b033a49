"""Logging, configured once for the whole process; credentials in URLs are always masked."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import zoneinfo
from typing import TextIO

from streamer.masking import mask_text

#: The site's time zone: log times are shown in it, with the date, like the CLI's times.
_tz: dt.tzinfo = dt.UTC


def _local(record: logging.LogRecord) -> dt.datetime:
    return dt.datetime.fromtimestamp(record.created, _tz)


class _MaskingFormatter(logging.Formatter):
    """Masks passwords in the whole formatted record, tracebacks included."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _local(record).strftime("%Y-%m-%d %H:%M:%S %Z")

    def format(self, record: logging.LogRecord) -> str:
        return mask_text(super().format(record))


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": _local(record).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return mask_text(json.dumps(out))


_configured = False


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at each record (a terminal status line or a test
    runner may replace it; a handler bound to the old, closed stream would fail)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def build_handler(stream: TextIO | None, *, json_lines: bool = False) -> logging.Handler:
    """A handler writing masked lines (plain or JSON) to ``stream`` (None: the current
    ``sys.stderr``, looked up at each record)."""
    handler: logging.StreamHandler[TextIO] = (
        _StderrHandler() if stream is None else logging.StreamHandler(stream)
    )
    if json_lines:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(_MaskingFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    return handler


def setup_logging(
    level: str = "INFO", *, json_lines: bool = False, tz: zoneinfo.ZoneInfo | None = None
) -> None:
    """Configure the root logger once (later calls only change the level and time zone)."""
    global _configured, _tz
    if tz is not None:
        _tz = tz
    root = logging.getLogger()
    root.setLevel(level)
    if _configured:
        return
    root.handlers[:] = [build_handler(None, json_lines=json_lines)]
    for noisy in ("aiokafka", "kafka", "urllib3", "httpx", "httpcore", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    _configured = True
