"""Where Vigil may write and delete: checks on ``media_dir`` and ``journal_dir``, and a reset
that removes only Vigil's own files.

Retention deletes files under ``media_dir``, so that folder must hold nothing but Vigil's media:
not the working directory, ``/`` or a home folder, not a folder that holds the database, the
config file or the journal, and not a folder where other files already live. ``path_problems``
says what is wrong (each problem names the setting); ``config check``, ``vigil run`` and
``vigil demo`` refuse such a config before anything is written or deleted.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from storage.journal import JOURNAL_NAME, LOCK_NAME, REJECTED_NAME
from storage.media import is_vigil_media_path
from storage.settings import StorageConfig

log = logging.getLogger(__name__)

#: At most this many foreign files are named in a problem.
_EXAMPLES = 3


@dataclass(frozen=True, slots=True)
class PathProblem:
    """One unsafe storage location: the setting (``media_dir``, ``journal_dir``) and why."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"storage.{self.field}: {self.message}"


def sqlite_file(config: StorageConfig) -> Path | None:
    """The SQLite database file of ``database_url`` (None for PostgreSQL or in-memory)."""
    return config.sqlite_path()


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def foreign_files(root: Path, limit: int = _EXAMPLES) -> list[str]:
    """Up to ``limit`` paths under ``root`` (relative) that Vigil did not write.

    Vigil's media has the shape ``YYYY-MM-DD/<incident id>/keyframe-*.jpg|clip-*.mp4`` (or a
    temporary file of either); anything else (another file, a symbolic link) is foreign.
    """
    found: list[str] = []
    if not root.is_dir():
        return found
    for dirpath, dirs, files in os.walk(root, followlinks=False):
        here = Path(dirpath)
        for name in [*files, *(d for d in dirs if (here / d).is_symlink())]:
            full = here / name
            rel = full.relative_to(root).as_posix()
            try:
                st = full.lstat()
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and is_vigil_media_path(rel):
                continue
            found.append(rel)
            if len(found) >= limit:
                return found
        dirs.sort()
    return found


def path_problems(
    config: StorageConfig, *, config_file: Path | None = None, cwd: Path | None = None
) -> list[PathProblem]:
    """Every reason ``media_dir`` / ``journal_dir`` are unsafe to write and sweep (empty: safe)."""
    problems: list[PathProblem] = []
    here = (cwd or Path.cwd()).resolve()
    raw = config.media_dir.strip()
    if not raw:
        return [PathProblem("media_dir", "is empty (that would be the working directory)")]
    media = (here / Path(raw).expanduser()).resolve()
    home = Path.home().resolve()
    if media == Path(media.anchor):
        problems.append(PathProblem("media_dir", f"{raw!r} is the root of the file system"))
    elif media == here:
        problems.append(PathProblem("media_dir", f"{raw!r} is the working directory"))
    elif media == home or media in home.parents:
        problems.append(PathProblem("media_dir", f"{raw!r} is a home folder or above one"))
    db = sqlite_file(config)
    if db is not None and _inside((here / db).resolve(), media):
        problems.append(
            PathProblem(
                "media_dir",
                f"{raw!r} holds the database file {db}; give media its own folder "
                "(retention deletes files there)",
            )
        )
    if config_file is not None and _inside((here / config_file).resolve(), media):
        problems.append(PathProblem("media_dir", f"{raw!r} holds the config file {config_file}"))
    journal = (here / config.journal_path()).resolve()
    if _inside(journal, media) or _inside(media, journal):
        problems.append(
            PathProblem(
                "journal_dir",
                f"the journal {str(journal)!r} and media_dir {raw!r} overlap; keep the "
                "journal on its own path (media_dir is the disk most likely to fill)",
            )
        )
    if not problems and media.is_dir():
        foreign = foreign_files(media)
        if foreign:
            problems.append(
                PathProblem(
                    "media_dir",
                    f"{raw!r} holds files Vigil did not write ({', '.join(foreign)}"
                    f"{', ...' if len(foreign) >= _EXAMPLES else ''}); point media_dir at an "
                    "empty folder of its own",
                )
            )
    return problems


def journal_in_use(folder: Path) -> bool:
    """True if a running Vigil process holds the journal in ``folder``."""
    lock_path = folder / LOCK_NAME
    if not lock_path.exists():
        return False
    try:
        with open(lock_path, "a+", encoding="utf-8") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return True
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    except OSError:
        return False
    return False


@dataclass(frozen=True, slots=True)
class ResetResult:
    """What ``remove_vigil_data`` deleted, and the foreign files it left in place."""

    deleted: tuple[str, ...]
    kept_foreign: tuple[str, ...]


def existing_vigil_data(config: StorageConfig) -> list[str]:
    """Vigil data that a reset would delete: the SQLite file, journal files, media files."""
    found: list[str] = []
    db = sqlite_file(config)
    if db is not None:
        found += [str(p) for p in _db_files(db) if p.exists()]
    found += [
        str(p)
        for p in _journal_files(config.journal_path())
        if p.name != LOCK_NAME and not p.name.startswith(".probe-")
    ]
    media = Path(config.media_dir).expanduser()
    found += [str(p) for p in _media_files(media)]
    return found


def _db_files(db: Path) -> list[Path]:
    return [db.with_name(db.name + s) for s in ("", "-wal", "-shm", "-journal")]


def _journal_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    names = {JOURNAL_NAME, REJECTED_NAME, LOCK_NAME}
    return sorted(
        p
        for p in folder.iterdir()
        if p.name in names
        or (p.name.startswith("quarantine-") and p.name.endswith(".jsonl"))
        or p.name.startswith(".probe-")
    )


def _media_files(media: Path) -> list[Path]:
    out: list[Path] = []
    if not media.is_dir():
        return out
    for dirpath, _dirs, files in os.walk(media, followlinks=False):
        for name in files:
            full = Path(dirpath) / name
            rel = full.relative_to(media).as_posix()
            with contextlib.suppress(OSError):
                if stat.S_ISREG(full.lstat().st_mode) and is_vigil_media_path(rel):
                    out.append(full)
    return sorted(out)


def remove_vigil_data(config: StorageConfig) -> ResetResult:
    """Delete the SQLite database, the journal's files and Vigil's media files, and nothing else.

    Files Vigil did not write (by name and path shape) are left where they are, and so are
    folders that still hold them. Every deletion is logged. Refuses (``RuntimeError``) while a
    Vigil process holds the journal.
    """
    journal = config.journal_path()
    if journal_in_use(journal):
        raise RuntimeError(
            f"storage.journal_dir {str(journal)!r} is in use by a running Vigil process; stop it "
            "before a reset"
        )
    deleted: list[str] = []
    db = sqlite_file(config)
    victims = (_db_files(db) if db is not None else []) + _journal_files(journal)
    media = Path(config.media_dir).expanduser()
    victims += _media_files(media)
    for path in victims:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        log.info("reset: deleted %s", path)
        deleted.append(str(path))
    if media.is_dir():
        for dirpath, _dirs, _files in sorted(os.walk(media), key=lambda t: -len(t[0])):
            folder = Path(dirpath)
            if folder != media and not folder.is_symlink():
                with contextlib.suppress(OSError):
                    folder.rmdir()  # only if empty: folders holding foreign files stay
    with contextlib.suppress(OSError):
        if journal.is_dir():
            journal.rmdir()
    return ResetResult(tuple(deleted), tuple(foreign_files(media, limit=1000)))
