"""What ``vigil demo`` may reset: only the data an earlier demo run created itself.

The demo starts from an empty database each time. It marks the database it creates with a
small file beside it (``<db>.demo.json``, naming the database, media and journal folders); on
the next run, data under exactly those paths is the demo's own and is reset. Any other existing
data (a user's config, a database the demo did not create) is refused unless ``--reset`` is
given, and even then only Vigil's own files are deleted (``storage.paths.remove_vigil_data``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from storage.paths import existing_vigil_data, path_problems, remove_vigil_data, sqlite_file
from storage.settings import StorageConfig

log = logging.getLogger(__name__)


class DemoRefused(Exception):
    """The demo will not run on this config (the message says why and what to do)."""


def _mark_path(db: Path) -> Path:
    return db.with_name(db.name + ".demo.json")


def _identity(config: StorageConfig) -> dict[str, str]:
    db = sqlite_file(config)
    assert db is not None
    return {
        "database": str(db.resolve()),
        "media_dir": str(Path(config.media_dir).expanduser().resolve()),
        "journal_dir": str(config.journal_path().resolve()),
    }


def is_demo_data(config: StorageConfig) -> bool:
    """True if the data at these paths was created by an earlier ``vigil demo``."""
    db = sqlite_file(config)
    if db is None:
        return False
    try:
        mark = json.loads(_mark_path(db).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(mark, dict)
        and mark.get("created_by") == "vigil demo"
        and all(mark.get(k) == v for k, v in _identity(config).items())
    )


def prepare_demo_storage(
    config: StorageConfig, *, config_file: Path, reset: bool
) -> tuple[str, ...]:
    """Make the storage empty for a demo run; return the files deleted.

    Raises ``DemoRefused`` for PostgreSQL, unsafe paths, or existing data the demo did not
    create (unless ``reset``).
    """
    db = sqlite_file(config)
    if db is None:
        raise DemoRefused("the demo only runs on an SQLite database file (sqlite:///PATH)")
    problems = path_problems(config, config_file=config_file)
    if problems:
        raise DemoRefused("\n".join(f"{config_file}: {p}" for p in problems))
    existing = existing_vigil_data(config)
    mark = _mark_path(db)
    if existing and not reset and not is_demo_data(config):
        shown = ", ".join(existing[:3]) + (", ..." if len(existing) > 3 else "")
        raise DemoRefused(
            f"{config_file} points at data the demo did not create ({shown}); the demo starts "
            "from an empty database and would delete it. Use configs/demo.yaml, or add --reset "
            "to delete Vigil's own files there (database, journal, media; nothing else)."
        )
    deleted: tuple[str, ...] = ()
    if existing:
        try:
            result = remove_vigil_data(config)
        except RuntimeError as exc:
            raise DemoRefused(str(exc)) from None
        deleted = result.deleted
        if result.kept_foreign:
            log.warning("demo reset kept files Vigil did not write: %s", result.kept_foreign)
    mark.parent.mkdir(parents=True, exist_ok=True)
    mark.write_text(
        json.dumps({"created_by": "vigil demo", **_identity(config)}, indent=1) + "\n",
        encoding="utf-8",
    )
    return deleted
