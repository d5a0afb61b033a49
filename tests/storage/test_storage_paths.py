"""Storage paths: an unsafe media_dir is refused, and nothing but Vigil's own files is deleted."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

import pytest

from storage.journal import LOCK_NAME
from storage.media import MediaStore
from storage.paths import (
    existing_vigil_data,
    foreign_files,
    journal_in_use,
    path_problems,
    remove_vigil_data,
)
from storage.settings import StorageConfig
from storage.store import Store

OWN_KEYFRAME = "2026-11-30/inc-1/keyframe-onset-1764500000000.jpg"
OWN_CLIP = "2026-11-30/inc-1/clip-1764500000000.mp4"


def _cfg(tmp_path: Path, media: str, db: str = "db/vigil.db", **kw: str) -> StorageConfig:
    return StorageConfig(database_url=f"sqlite:///{tmp_path / db}", media_dir=media, **kw)


def _old(path: Path, age_s: float = 3 * 24 * 3600) -> None:
    t = time.time() - age_s
    os.utime(path, (t, t), follow_symlinks=False)


@pytest.mark.parametrize(
    ("media", "expected"),
    [
        ("", "is empty"),
        ("  ", "is empty"),
        (".", "is the working directory"),
        ("/", "root of the file system"),
        ("~", "home folder"),
        ("db", "holds the database file"),
        ("{tmp}", "holds the database file"),
        ("cfg", "holds the config file"),
        ("db/journal", "overlap"),
    ],
)
def test_unsafe_media_dirs_are_refused_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, media: str, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cfg").mkdir()
    problems = path_problems(
        _cfg(tmp_path, media.format(tmp=tmp_path)), config_file=Path("cfg/vigil.yaml")
    )
    assert any(expected in str(p) for p in problems), problems
    assert all(str(p).startswith("storage.") for p in problems)


def test_media_dir_with_foreign_files_is_refused_and_vigil_media_is_not(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, str(tmp_path / "media"))
    assert path_problems(cfg) == []  # not there yet: created at start
    media = tmp_path / "media"
    for rel in (OWN_KEYFRAME, OWN_CLIP):
        (media / rel).parent.mkdir(parents=True, exist_ok=True)
        (media / rel).write_bytes(b"x")
    assert path_problems(cfg) == []
    (media / "holiday.jpg").write_bytes(b"x")
    (media / "2026-11-30" / "inc-1" / "notes.txt").write_text("mine")
    (problem,) = path_problems(cfg)
    assert problem.field == "media_dir"
    assert "2026-11-30/inc-1/notes.txt" in problem.message
    assert "holiday.jpg" in problem.message


def test_a_symlink_in_media_dir_is_foreign(tmp_path: Path) -> None:
    media = tmp_path / "media"
    (media / "2026-11-30" / "inc-1").mkdir(parents=True)
    (tmp_path / "elsewhere.jpg").write_bytes(b"x")
    (media / OWN_KEYFRAME).symlink_to(tmp_path / "elsewhere.jpg")
    assert foreign_files(media) == [OWN_KEYFRAME]


def test_sweep_of_a_folder_holding_the_database_deletes_only_vigil_files(tmp_path: Path) -> None:
    """The sweep alone (config checks bypassed) never deletes the database or foreign files."""
    data = tmp_path / "data"
    cfg = StorageConfig(
        database_url=f"sqlite:///{data / 'vigil.db'}",
        media_dir=str(data),
        journal_dir=str(tmp_path / "journal"),
    )
    store = Store.open(cfg)
    try:
        media = MediaStore(cfg)
        outside = tmp_path / "outside.jpg"
        outside.write_bytes(b"precious")
        foreign = [data / "vigil.db", data / "vigil.yaml", data / "notes" / "a.txt"]
        (data / "notes").mkdir()
        for p in foreign[1:]:
            p.write_text("keep me")
        link = data / "2026-11-30" / "inc-2" / "keyframe-onset-1.jpg"
        link.parent.mkdir(parents=True)
        link.symlink_to(outside)
        orphan = data / OWN_CLIP
        orphan.parent.mkdir(parents=True)
        orphan.write_bytes(b"orphan")
        for p in [*foreign, link, orphan]:
            _old(p)
        result = media.sweep(store)
    finally:
        store.close()
    assert result.orphans_deleted == 1 and not orphan.exists()
    assert all(p.exists() for p in foreign)
    assert link.is_symlink() and outside.read_bytes() == b"precious"


def test_reset_removes_database_journal_and_vigil_media_only(tmp_path: Path) -> None:
    media = tmp_path / "media"
    cfg = _cfg(tmp_path, str(media))
    Store.open(cfg).close()
    journal = cfg.journal_path()
    journal.mkdir(parents=True, exist_ok=True)
    (journal / "journal.jsonl").write_text("{}\n")
    (journal / "my-notes.txt").write_text("keep")
    for rel in (OWN_KEYFRAME, OWN_CLIP):
        (media / rel).parent.mkdir(parents=True, exist_ok=True)
        (media / rel).write_bytes(b"x")
    (media / "2026-11-30" / "inc-1" / "evidence.txt").write_text("operator's")
    assert len(existing_vigil_data(cfg)) == 4  # database, journal, keyframe, clip
    result = remove_vigil_data(cfg)
    assert not (tmp_path / "db" / "vigil.db").exists()
    assert not (journal / "journal.jsonl").exists()
    assert (journal / "my-notes.txt").read_text() == "keep"
    assert not (media / OWN_KEYFRAME).exists() and not (media / OWN_CLIP).exists()
    assert (media / "2026-11-30" / "inc-1" / "evidence.txt").read_text() == "operator's"
    assert result.kept_foreign == ("2026-11-30/inc-1/evidence.txt",)
    assert existing_vigil_data(cfg) == []


def test_reset_is_refused_while_a_vigil_process_holds_the_journal(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, str(tmp_path / "media"))
    Store.open(cfg).close()
    journal = cfg.journal_path()
    journal.mkdir(parents=True)
    with open(journal / LOCK_NAME, "a+", encoding="utf-8") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        assert journal_in_use(journal)
        with pytest.raises(RuntimeError, match="in use by a running Vigil process"):
            remove_vigil_data(cfg)
    assert (tmp_path / "db" / "vigil.db").exists()
    assert not journal_in_use(journal)
