"""Logging, configured once for the whole process; credentials in URLs are always masked."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import TextIO

from streamer.masking import mask_text


class _MaskingFormatter(logging.Formatter):
    """Masks passwords in the whole formatted record, tracebacks included."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_text(super().format(record))


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return mask_text(json.dumps(out))


_configured = False


def build_handler(stream: TextIO, *, json_lines: bool = False) -> logging.Handler:
    """A handler writing masked lines (plain or JSON) to ``stream``."""
    handler = logging.StreamHandler(stream)
    if json_lines:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(
            _MaskingFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    return handler


def setup_logging(level: str = "INFO", *, json_lines: bool = False) -> None:
    """Configure the root logger once (later calls only change the level)."""
    global _configured
    root = logging.getLogger()
    root.setLevel(level)
    if _configured:
        return
    root.handlers[:] = [build_handler(sys.stderr, json_lines=json_lines)]
    for noisy in ("aiokafka", "kafka", "urllib3", "httpx", "httpcore", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    _configured = True
