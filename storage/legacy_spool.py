"""Import of an older Vigil's update spool (``unsaved-updates.jsonl``) into the journal."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

from storage.journal_format import Entry, Pending, fsync_dir, pending_from_json

log = logging.getLogger(__name__)


def import_legacy_spool(spool: Path, accept: Callable[[Pending], Entry]) -> list[Entry]:
    """Accept the updates of an older Vigil's ``unsaved-updates.jsonl`` into the journal.

    Returns the entries; unreadable lines are kept in ``<spool>.unreadable`` and reported at
    ERROR instead of being dropped. The spool file is removed once its updates are accepted.
    """
    if not spool.exists():
        return []
    left: list[str] = []
    out: list[Entry] = []
    for lineno, line in enumerate(spool.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            pending = pending_from_json(json.loads(line))
        except (ValueError, TypeError, KeyError) as exc:
            log.error("spool %s line %d unreadable: %s", spool, lineno, exc)
            left.append(line)
            continue
        out.append(accept(pending))
    if left:
        keep = spool.with_name(spool.name + ".unreadable")
        keep.write_text("\n".join(left) + "\n", encoding="utf-8")
        log.error("%d unreadable spool line(s) kept in %s", len(left), keep)
    spool.unlink()
    fsync_dir(spool.parent)
    log.warning("accepted %d update(s) from the old spool %s into the journal", len(out), spool)
    return out
