"""Never lose or destroy data: the journal, crash recovery, bounded stops, honest losses.

SIGKILL and SIGTERM tests kill a real ``vigil run`` process; the databases are real SQLite
files and a real PostgreSQL (hung through a proxy that stops forwarding bytes).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from detectors.types import IncidentUpdate, UpdateKind
from storage.journal import Journal, JournalError, Pending
from storage.settings import StorageConfig
from storage.store import Store
from tests.support.proxy import FreezingProxy
from tests.support.wait import wait_until
from vigil.app import App
from vigil.config import parse_config

PG_URL = os.environ.get("VIGIL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
OPEN_LINE = re.compile(r"^OPEN\s+(\w+)\s+camera=(\S+) .*id=(\S+)", re.M)


# --- helpers ------------------------------------------------------------------------------


def _update(incident_id: str = "inc-1", version: int = 1, **kw: object) -> IncidentUpdate:
    base: dict[str, object] = {
        "incident_id": incident_id,
        "version": version,
        "kind": UpdateKind.OPEN if version == 1 else UpdateKind.UPDATE,
        "camera_id": "cam",
        "event_type": "fall",
        "ts_s": 1_700_000_000.0 + version,
        "opened_ts_s": 1_700_000_000.0,
        "closed_ts_s": None,
        "score": 0.9,
        "peak_score": 0.9,
        "mean_score": 0.8,
        "onset_pts_s": 20.0,
    }
    base.update(kw)
    return IncidentUpdate(**base)  # type: ignore[arg-type]


class VigilProcess:
    """A real ``vigil run`` whose merged output is collected line by line."""

    def __init__(self, config: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vigil", "run", "-c", str(config), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: str, timeout_s: float = 120) -> re.Match[str]:
        rx = re.compile(pattern, re.M)

        def found() -> re.Match[str] | None:
            if self.proc.poll() is not None and not rx.search(self.output):
                raise AssertionError(f"vigil exited ({self.proc.returncode}):\n{self.output}")
            return rx.search(self.output)

        return wait_until(found, timeout_s=timeout_s, what=f"{pattern!r} in:\n{self.output}")

    def finish(self, timeout_s: float) -> int:
        rc = self.proc.wait(timeout=timeout_s)
        self._reader.join(5)
        return rc

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        self.proc.wait(10)


def _write_config(path: Path, *, db_url: str, media: Path, clip: Path, extra: str = "") -> Path:
    path.write_text(
        f"""site: test-site
storage:
  database_url: "{db_url}"
  media_dir: {media}
{extra}cameras:
  - {{id: cam, url: "{clip}", fps: 2, events: {{fall: {{}}, fire: {{}}}}}}
""",
        encoding="utf-8",
    )
    return path


def _recover(cfg_path: Path) -> None:
    """Start and stop a pipeline without cameras: replays the journal, closes leftovers."""
    from vigil.config import load_config

    cfg = load_config(cfg_path)
    app = App(cfg.model_copy(update={"cameras": []}), pace=False)
    app.start()
    app.stop()
    assert app.stats.lost == 0


# --- the journal --------------------------------------------------------------------------


def test_journal_replays_what_is_not_done_and_drops_a_torn_last_line(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j")
    assert j.open().entries == ()
    for v in (1, 2, 3):
        j.append("update", pending=Pending(_update(version=v)))
    j.mark_done(1)
    j.close()
    with open(tmp_path / "j" / "journal.jsonl", "ab") as fh:
        fh.write(b'{"seq":4,"op":"upd')  # a SIGKILL in the middle of a write
    again = Journal(tmp_path / "j")
    found = again.open()
    assert [e.pending.update.version for e in found.entries if e.pending] == [2, 3]
    assert found.torn_tail and found.unreadable == 0
    entry = again.append("update", pending=Pending(_update(version=4)))
    assert entry.seq == 4
    again.close()
    third = Journal(tmp_path / "j")
    assert [e.seq for e in third.open().entries] == [2, 3, 4]  # the new line is readable
    third.close()


def test_journal_keeps_unreadable_lines_in_quarantine_and_reports_them(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j")
    j.open()
    j.append("update", pending=Pending(_update(version=1)))
    j.close()
    with open(tmp_path / "j" / "journal.jsonl", "ab") as fh:
        fh.write(b"this is not json\n")
    j2 = Journal(tmp_path / "j")
    result = j2.open()
    j2.close()
    assert result.unreadable == 1
    assert result.quarantine is not None
    assert result.quarantine.read_text().strip() == "this is not json"
    assert [e.seq for e in result.entries] == [1]


def test_one_process_per_journal(tmp_path: Path) -> None:
    first = Journal(tmp_path / "j")
    first.open()
    try:
        with pytest.raises(JournalError, match="in use by another Vigil process"):
            Journal(tmp_path / "j").open()
    finally:
        first.close()
    Journal(tmp_path / "j").open()  # free again


def test_journal_folder_that_cannot_be_created_is_refused_at_start(
    tmp_path: Path, scene_clip: Callable[..., Path]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    cfg = parse_config(
        f"""
storage:
  database_url: "sqlite:///{tmp_path / "vigil.db"}"
  media_dir: {tmp_path / "media"}
  journal_dir: {blocker / "journal"}
cameras:
  - {{id: cam, url: "{scene_clip("demo", 0)}", fps: 2}}
""",
        env={},
    )
    app = App(cfg, pace=False)
    with pytest.raises(JournalError, match="journal_dir"):
        app.start()


# --- crash recovery -----------------------------------------------------------------------


def test_incidents_left_open_are_closed_as_interrupted_with_a_message(tmp_path: Path) -> None:
    cfg = parse_config(
        f"""
storage:
  database_url: "sqlite:///{tmp_path / "vigil.db"}"
  media_dir: {tmp_path / "media"}
""",
        env={},
    )
    store = Store.open(cfg.storage)
    store.upsert_camera(camera_id="cam", name="Cam", location=None, url_masked="rtsp://x/")
    store.record(_update("left-open", 1))
    store.record(_update("left-open", 2))
    store.close()
    app = App(cfg, pace=False)
    app.start()
    app.stop()
    store = Store.open(cfg.storage, create_if_empty=False)
    try:
        detail = store.get_incident("left-open")
        assert detail is not None
        assert not detail.incident.is_open
        assert detail.incident.close_reason == "interrupted"
        assert [u.kind for u in detail.updates][-1] == "close"
    finally:
        store.close()
    with sqlite3.connect(tmp_path / "vigil.db") as db:
        payloads = [
            json.loads(p)
            for (p,) in db.execute(
                "SELECT payload FROM outbox WHERE incident_id = 'left-open' ORDER BY id"
            )
        ]
    assert any("interrupted" in json.dumps(p) and p.get("version") == 3 for p in payloads), (
        f"the close must go out on the bus: {payloads}"
    )
    # a second start finds nothing left open and closes nothing twice
    again = App(cfg, pace=False)
    again.start()
    again.stop()
    store = Store.open(cfg.storage, create_if_empty=False)
    try:
        detail = store.get_incident("left-open")
        assert detail is not None and len(detail.updates) == 3
    finally:
        store.close()


@pytest.mark.slow
@pytest.mark.parametrize("locked", [True, False], ids=["database-locked", "database-free"])
def test_sigkill_after_an_incident_is_printed_loses_nothing(
    tmp_path: Path, scene_clip: Callable[..., Path], locked: bool
) -> None:
    db = tmp_path / "vigil.db"
    cfg = _write_config(
        tmp_path / "vigil.yaml",
        db_url=f"sqlite:///{db}",
        media=tmp_path / "media",
        clip=scene_clip("demo", 0),
        extra="  sqlite_busy_timeout_s: 10\n",
    )
    proc = VigilProcess(cfg)  # real time: the fall comes about 21 s into the clip
    blocker: sqlite3.Connection | None = None
    try:
        proc.wait_for(r"vigil started")
        if locked:
            blocker = sqlite3.connect(db, timeout=10)
            blocker.execute("BEGIN EXCLUSIVE")
        opened = proc.wait_for(OPEN_LINE.pattern)
        proc.kill()  # SIGKILL the moment the operator was told
    finally:
        proc.kill()
        if blocker is not None:
            blocker.rollback()
            blocker.close()
    event_type, prefix = opened[1], opened[3]
    _recover(cfg)
    store = Store.open(StorageConfig(database_url=f"sqlite:///{db}"), create_if_empty=False)
    try:
        rows = [r for r in store.list_incidents() if r.incident_id.startswith(prefix)]
        assert len(rows) == 1, f"incident {prefix} printed as OPEN was lost:\n{proc.output}"
        assert rows[0].event_type == event_type
        assert rows[0].close_reason == "interrupted" and not rows[0].is_open
    finally:
        store.close()


# --- a hung PostgreSQL --------------------------------------------------------------------


@pytest.fixture
def pg_schema() -> Iterator[str]:
    url = make_url(PG_URL)
    info = {
        "host": url.host or "127.0.0.1",
        "port": url.port or 5432,
        "user": url.username,
        "dbname": url.database,
        "autocommit": True,
        "connect_timeout": 5,
    }
    schema = f"vigil_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(**info) as conn:  # type: ignore[arg-type]
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema
    finally:
        with psycopg.connect(**info) as conn:  # type: ignore[arg-type]
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND query LIKE %s",
                (f"%{schema}%",),
            )
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.mark.slow
def test_hung_postgres_neither_stops_detection_nor_sigterm(
    tmp_path: Path, scene_clip: Callable[..., Path], pg_schema: str
) -> None:
    url = make_url(PG_URL)
    with FreezingProxy((url.host or "127.0.0.1", url.port or 5432)) as proxy:
        via_proxy = url.set(host="127.0.0.1", port=proxy.port).update_query_dict(
            {"options": f"-csearch_path={pg_schema}"}
        )
        direct = url.update_query_dict({"options": f"-csearch_path={pg_schema}"})
        cfg = _write_config(
            tmp_path / "vigil.yaml",
            db_url=via_proxy.render_as_string(hide_password=False),
            media=tmp_path / "media",
            clip=scene_clip("demo", 0),
            extra=f"  journal_dir: {tmp_path / 'journal'}\n",
        )
        proc = VigilProcess(cfg)
        try:
            proc.wait_for(r"vigil started")
            proxy.freeze()  # every connection hangs: no error, no answer
            opened = proc.wait_for(OPEN_LINE.pattern)  # detection went on regardless
            proc.proc.send_signal(signal.SIGTERM)
            rc = proc.finish(timeout_s=15)  # bounds a hang; the stop budget is 4.5 s
        finally:
            proc.kill()
        assert rc == 0, proc.output
        assert "not stored yet; kept in" in proc.output
    # the database is back (directly): the journal brings the incident in at the next start
    cfg.write_text(
        cfg.read_text().replace(
            via_proxy.render_as_string(hide_password=False),
            direct.render_as_string(hide_password=False),
        )
    )
    _recover(cfg)
    store = Store.open(
        StorageConfig(database_url=direct.render_as_string(hide_password=False)),
        create_if_empty=False,
    )
    try:
        assert [
            r.incident_id for r in store.list_incidents() if r.incident_id.startswith(opened[3])
        ]
    finally:
        store.close()


def test_postgres_sessions_have_statement_and_lock_timeouts(pg_schema: str) -> None:
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={pg_schema}"})
    cfg = StorageConfig(
        database_url=url.render_as_string(hide_password=False), statement_timeout_s=7
    )
    store = Store.open(cfg)
    try:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "7s"
            assert conn.exec_driver_sql("SHOW lock_timeout").scalar() == "7s"
            assert conn.exec_driver_sql("SHOW search_path").scalar() == pg_schema
    finally:
        store.close()


# --- losses are loud ------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small-disk"
    mount.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({proc.stderr.strip()})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path, leave_bytes: int) -> None:
    st = os.statvfs(folder)
    free = st.f_bavail * st.f_frsize
    with open(folder / "filler", "wb") as fh:
        fh.write(b"\0" * max(0, free - leave_bytes))


@pytest.mark.slow
def test_updates_lost_on_a_full_disk_are_errors_and_a_non_zero_exit(
    tmp_path: Path, scene_clip: Callable[..., Path], small_disk: Path
) -> None:
    db = tmp_path / "vigil.db"
    cfg = _write_config(
        tmp_path / "vigil.yaml",
        db_url=f"sqlite:///{db}",
        media=tmp_path / "media",
        clip=scene_clip("demo", 0),
        extra=f"  journal_dir: {small_disk / 'journal'}\n  sqlite_busy_timeout_s: 0\n",
    )
    proc = VigilProcess(cfg)  # real time: the fall comes about 21 s into the clip
    blocker: sqlite3.Connection | None = None
    try:
        proc.wait_for(r"vigil started")
        # the journal disk fills up and the database refuses: nothing can keep an update
        blocker = sqlite3.connect(db, timeout=10)
        blocker.execute("BEGIN EXCLUSIVE")
        _fill(small_disk, leave_bytes=0)
        proc.wait_for(r"LOST")
        proc.proc.send_signal(signal.SIGTERM)
        rc = proc.finish(timeout_s=30)
    finally:
        proc.kill()
        if blocker is not None:
            blocker.rollback()
            blocker.close()
    if "OPEN " not in proc.output:
        pytest.fail(f"the run found no incident to lose:\n{proc.output}")
    assert rc != 0, proc.output
    assert "LOST" in proc.output
    assert re.search(r"ERROR .*could not be kept", proc.output), proc.output


def test_journal_lines_keep_the_region_of_an_update() -> None:
    from storage.journal import pending_from_json, pending_to_json

    item = Pending(_update(region=(0.1, 0.2, 0.3, 0.4)), None, [])
    back = pending_from_json(json.loads(json.dumps(pending_to_json(item))))
    assert back.update == item.update and back.update.region == (0.1, 0.2, 0.3, 0.4)
    plain = Pending(_update(), None, [])
    assert pending_from_json(json.loads(json.dumps(pending_to_json(plain)))).update.region is None
