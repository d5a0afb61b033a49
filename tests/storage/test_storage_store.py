"""The store on SQLite and PostgreSQL: writes, idempotency, history queries, constraints."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from detectors.types import IncidentUpdate, UpdateKind
from reports.types import Report
from storage.errors import AmbiguousIncidentId, ConstraintViolation, StorageFull
from storage.models import Incident, IncidentUpdateRow, OutboxRow, ReportRow
from storage.records import MediaRef
from storage.settings import StorageConfig
from storage.store import Store

MakeUpdate = Callable[..., IncidentUpdate]
MakeReport = Callable[..., Report]


def _count(store: Store, model: type) -> int:
    with store.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(model)) or 0)


def _outbox(store: Store) -> list[OutboxRow]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(OutboxRow).order_by(OutboxRow.id)).all())  # type: ignore[arg-type]


def test_record_writes_incident_timeline_report_and_outbox(
    store: Store, make_update: MakeUpdate, make_report: MakeReport
) -> None:
    assert store.record(make_update("inc-1", 1), report=make_report("inc-1", 1)) is True
    assert store.record(make_update("inc-1", 2, score=0.95)) is True
    assert store.record(make_update("inc-1", 3, closed=True)) is True

    detail = store.get_incident("inc-1")
    assert detail is not None
    inc = detail.incident
    assert (inc.camera_id, inc.camera_name, inc.event_type) == ("cam-a", "Camera cam-a", "fall")
    assert inc.status == "closed" and inc.version == 3 and not inc.is_open
    assert inc.closed_ts_s == pytest.approx(1_700_000_003.0)
    assert inc.duration_s == pytest.approx(3.0)
    assert inc.severity is not None and inc.title == "Person fell near the dock"
    assert [u.version for u in detail.updates] == [1, 2, 3]
    assert [u.kind for u in detail.updates] == ["open", "update", "close"]
    assert detail.updates[0].cues["motion_energy"] == pytest.approx(0.25)
    assert detail.updates[1].timeline[-1] == pytest.approx((1_700_000_002.0, 0.95))
    assert [r.seq for r in detail.reports] == [1]

    rows = _outbox(store)
    assert [(r.topic, r.key, r.incident_id, r.version) for r in rows] == [
        ("incidents", "cam-a", "inc-1", 1),
        ("reports", "cam-a", "inc-1", 1),
        ("incidents", "cam-a", "inc-1", 2),
        ("incidents", "cam-a", "inc-1", 3),
    ]
    closing = json.loads(rows[-1].payload)
    assert closing["status"] == "closed" and closing["update_kind"] == "close"
    assert closing["report"]["title"] == "Person fell near the dock"  # latest report rides along
    assert store.outbox_backlog() == 4


def test_record_is_idempotent_per_incident_and_version(
    store: Store, make_update: MakeUpdate, make_report: MakeReport
) -> None:
    assert store.record(make_update("inc-1", 1), report=make_report()) is True
    assert store.record(make_update("inc-1", 1), report=make_report()) is False
    assert _count(store, IncidentUpdateRow) == 1
    assert _count(store, ReportRow) == 1
    assert _count(store, OutboxRow) == 2


def test_a_late_older_version_does_not_move_the_incident_back(
    store: Store, make_update: MakeUpdate
) -> None:
    store.record(make_update("inc-1", 1))
    store.record(make_update("inc-1", 3, score=0.7))
    store.record(make_update("inc-1", 2, score=0.99))
    detail = store.get_incident("inc-1")
    assert detail is not None
    assert detail.incident.version == 3 and detail.incident.score == pytest.approx(0.7)
    assert [u.version for u in detail.updates] == [1, 2, 3]


def test_a_failing_write_leaves_nothing_behind(store: Store, make_update: MakeUpdate) -> None:
    bad = make_update("inc-nan", 1, score=math.nan)
    with pytest.raises(ValueError, match="finite"):
        store.record(bad)
    assert store.get_incident("inc-nan") is None
    assert _count(store, OutboxRow) == 0 and _count(store, IncidentUpdateRow) == 0


def test_report_of_another_incident_is_refused(
    store: Store, make_update: MakeUpdate, make_report: MakeReport
) -> None:
    with pytest.raises(ValueError, match="inc-2"):
        store.record(make_update("inc-1", 1), report=make_report("inc-2"))
    assert _count(store, Incident) == 0


def test_add_report_appends_with_next_seq_and_outbox_row(
    store: Store, make_update: MakeUpdate, make_report: MakeReport
) -> None:
    store.record(make_update("inc-1", 1), report=make_report("inc-1", 1))
    seq = store.add_report(make_report("inc-1", 1, backend="openai"))
    assert seq == 2
    detail = store.get_incident("inc-1")
    assert detail is not None
    assert [r.backend for r in detail.reports] == ["template", "openai"]
    assert detail.latest_report is not None and detail.latest_report.seq == 2
    last = _outbox(store)[-1]
    assert (last.topic, last.version) == ("reports", 2)
    assert json.loads(last.payload)["incident_version"] == 1


@pytest.mark.parametrize(
    ("call", "match"),
    [
        ("unknown_camera", "camera 'cam-zz' is not registered"),
        ("report_unknown_incident", "no such incident"),
        ("media_unknown_incident", "no such incident"),
        ("feedback_unknown_incident", "no such incident"),
    ],
)
def test_constraint_violations_are_clear_errors(
    store: Store, make_update: MakeUpdate, make_report: MakeReport, call: str, match: str
) -> None:
    with pytest.raises(ConstraintViolation, match=match) as err:
        if call == "unknown_camera":
            store.record(make_update("inc-9", 1, camera_id="cam-zz"))
        elif call == "report_unknown_incident":
            store.add_report(make_report("nope"))
        elif call == "media_unknown_incident":
            store.add_media(
                MediaRef(
                    incident_id="nope",
                    kind="keyframe",
                    path="nope/k.jpg",
                    content_type="image/jpeg",
                    ts_s=1.0,
                    bytes=10,
                )
            )
        else:
            store.add_feedback(incident_id="nope", action="acknowledge")
    assert "nope" in str(err.value) or "inc-9" in str(err.value)
    assert _count(store, Incident) == 0 and _count(store, OutboxRow) == 0


def test_list_incidents_filters_and_pages_newest_first(
    store: Store, make_update: MakeUpdate, make_report: MakeReport
) -> None:
    t0 = 1_700_000_000.0
    specs = [
        ("i-0", "cam-a", "fall", t0 + 0, False),
        ("i-1", "cam-a", "fire", t0 + 10, True),
        ("i-2", "cam-b", "fall", t0 + 20, False),
        ("i-3", "cam-b", "fire", t0 + 30, True),
        ("i-4", "cam-a", "fall", t0 + 40, False),
    ]
    for iid, cam, ev, opened, closed in specs:
        store.record(make_update(iid, 1, camera_id=cam, event_type=ev, opened_ts_s=opened))
        if closed:
            store.record(
                make_update(iid, 2, camera_id=cam, event_type=ev, opened_ts_s=opened, closed=True)
            )
    store.add_report(make_report("i-4", 1))

    def ids(**kw: object) -> list[str]:
        return [r.incident_id for r in store.list_incidents(**kw)]  # type: ignore[arg-type]

    assert ids() == ["i-4", "i-3", "i-2", "i-1", "i-0"]
    assert ids(camera="cam-a") == ["i-4", "i-1", "i-0"]
    assert ids(event_type="fire") == ["i-3", "i-1"]
    assert ids(status="open") == ["i-4", "i-2", "i-0"]
    assert ids(camera="cam-b", status="closed") == ["i-3"]
    assert ids(since_ts_s=t0 + 10, until_ts_s=t0 + 30) == ["i-2", "i-1"]
    assert ids(limit=2) == ["i-4", "i-3"]
    assert ids(limit=2, offset=2) == ["i-2", "i-1"]
    assert ids(camera="nowhere") == []
    assert store.count_incidents(event_type="fall") == 3
    top = store.list_incidents(limit=1)[0]
    assert top.title == "Person fell near the dock" and top.severity == "high"
    assert store.list_incidents(event_type="fire")[0].severity is None
    # one filter object for every history query, the same as its keywords
    from storage.records import IncidentFilter

    where = IncidentFilter(camera="cam-b", status="closed")
    assert [r.incident_id for r in store.list_incidents(where)] == ["i-3"]
    assert store.count_incidents(where) == 1
    with pytest.raises(TypeError):
        store.list_incidents(where, camera="cam-a")  # both: ambiguous
    with pytest.raises(TypeError):
        store.list_incidents(cameras="cam-a")  # a misspelt criterion is refused


def test_resolve_incident_id_by_prefix(store: Store, make_update: MakeUpdate) -> None:
    store.record(make_update("abc123", 1))
    store.record(make_update("abd456", 1))
    store.record(make_update("x_y%", 1))
    assert store.resolve_incident_id("abc") == "abc123"
    assert store.resolve_incident_id("abc123") == "abc123"
    assert store.resolve_incident_id("zzz") is None
    assert store.resolve_incident_id("x_y%") == "x_y%"
    assert store.resolve_incident_id("x%") is None  # LIKE wildcards are escaped
    with pytest.raises(AmbiguousIncidentId, match="abc123, abd456"):
        store.resolve_incident_id("ab")


def test_operator_status_survives_detector_updates(store: Store, make_update: MakeUpdate) -> None:
    store.record(make_update("inc-1", 1))
    assert store.add_feedback(incident_id="inc-1", action="acknowledge", operator="ann") == (
        "acknowledged"
    )
    store.record(make_update("inc-1", 2, closed=True))
    detail = store.get_incident("inc-1")
    assert detail is not None
    assert detail.incident.status == "acknowledged" and not detail.incident.is_open
    assert store.add_feedback(incident_id="inc-1", action="reopen") == "closed"
    assert store.add_feedback(incident_id="inc-1", action="comment", note="ok") == "closed"
    detail = store.get_incident("inc-1")
    assert detail is not None
    assert [(f.action, f.operator) for f in detail.feedback] == [
        ("acknowledge", "ann"),
        ("reopen", None),
        ("comment", None),
    ]
    with pytest.raises(ValueError, match="unknown feedback action"):
        store.add_feedback(incident_id="inc-1", action="delete")


def test_media_refs_are_recorded_once_and_ride_in_later_messages(
    store: Store, make_update: MakeUpdate
) -> None:
    store.record(make_update("inc-1", 1))
    ref = MediaRef(
        incident_id="inc-1",
        kind="keyframe",
        path="cam-a/inc-1/onset.jpg",
        content_type="image/jpeg",
        ts_s=1_700_000_001.0,
        bytes=1234,
        width=64,
        height=48,
    )
    assert store.add_media(ref) is True
    assert store.add_media(ref) is False
    store.record(make_update("inc-1", 2, closed=True))
    detail = store.get_incident("inc-1")
    assert detail is not None and detail.media == (ref,)
    assert json.loads(_outbox(store)[-1].payload)["media"][0]["path"] == "cam-a/inc-1/onset.jpg"


def test_outbox_pending_mark_sent_and_prune(store: Store, make_update: MakeUpdate) -> None:
    for v in range(1, 6):
        store.record(make_update("inc-1", v))
    pending = store.pending_outbox(limit=3)
    assert [m.version for m in pending] == [1, 2, 3]
    store.mark_failed([pending[0].id], "broker down")
    assert store.pending_outbox(limit=1)[0].attempts == 1
    store.mark_sent([m.id for m in pending])
    assert [m.version for m in store.pending_outbox(limit=10)] == [4, 5]
    assert [m.version for m in store.pending_outbox(limit=10, after_id=pending[-1].id + 1)] == [5]
    assert store.outbox_backlog() == 2
    assert store.prune_outbox(keep_s=3600) == 0
    assert store.prune_outbox(keep_s=-10) == 3
    assert _count(store, OutboxRow) == 2


def test_update_kinds_map_to_status(store: Store, make_update: MakeUpdate) -> None:
    store.record(make_update("inc-1", 1, kind=UpdateKind.UPDATE))  # the open was missed
    assert store.list_incidents()[0].status == "open"


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: Path) -> None:
    store = Store.open(StorageConfig(database_url=f"sqlite:///{tmp_path / 'v.db'}"))
    with store, store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10000
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL


def test_full_disk_is_a_clear_error_and_loses_nothing_already_accepted(
    tmp_path: Path, make_update: MakeUpdate, make_report: MakeReport
) -> None:
    """SQLite's max_page_count makes the database file full exactly as a full disk does."""
    store = Store.open(StorageConfig(database_url=f"sqlite:///{tmp_path / 'full.db'}"))
    store.upsert_camera(camera_id="cam-a", name="A", location=None, url_masked="x")

    def cap(dbapi_conn: Any, _rec: Any) -> None:
        pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages + 3}")

    store.engine.dispose()
    event.listen(store.engine, "connect", cap)
    accepted: list[IncidentUpdate] = []
    with pytest.raises(StorageFull, match="disk full") as err:
        for i in range(1, 10_000):
            update = make_update(f"inc-{i}", 1)
            store.record(update, report=make_report(f"inc-{i}", 1))
            accepted.append(update)
    assert "full.db" in str(err.value) and "nothing of this write was stored" in str(err.value)
    failed_id = f"inc-{len(accepted) + 1}"
    assert accepted and store.get_incident(failed_id) is None
    assert _count(store, OutboxRow) == 2 * len(accepted)  # no half-written outbox rows

    event.remove(store.engine, "connect", cap)  # space freed
    store.engine.dispose()
    assert store.record(make_update(failed_id, 1), report=make_report(failed_id, 1)) is True
    assert store.count_incidents() == len(accepted) + 1
    for update in accepted:
        assert store.get_incident(update.incident_id) is not None
    store.close()
