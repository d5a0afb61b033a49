"""Logging, configured once for the whole process; credentials in URLs are always masked."""

from __future__ import annotations

import json
import logging
import sys
import time

from vigil.secrets import mask_url


class _MaskingFilter(logging.Filter):
    """Masks passwords in every record's rendered message."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        masked = mask_url(msg)
        if masked != msg:
            record.msg, record.args = masked, None
        return True


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
        return json.dumps(out)


_configured = False


def setup_logging(level: str = "INFO", *, json_lines: bool = False) -> None:
    """Configure the root logger once (later calls only change the level)."""
    global _configured
    root = logging.getLogger()
    root.setLevel(level)
    if _configured:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_MaskingFilter())
    if json_lines:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    root.handlers[:] = [handler]
    for noisy in ("aiokafka", "kafka", "urllib3", "httpx", "httpcore", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    _configured = True
