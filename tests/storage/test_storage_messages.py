"""Every message Vigil writes validates against the JSON Schemas in docs/schemas, and those
schemas are what ``python -m storage.schemas`` generates from the message models."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import BaseModel
from sqlalchemy import select
from storage_testkit import assert_valid_message
from storage_workload import make_report, make_update

from detectors.types import UpdateKind
from reports.types import Severity
from storage import schemas
from storage.message_models import ActionMessage, IncidentMessage, ReportMessage
from storage.messages import SCHEMA_VERSION, iso_utc
from storage.models import OutboxRow
from storage.records import MediaRef
from storage.store import Store


def _payloads(store: Store) -> list[tuple[str, dict]]:  # type: ignore[type-arg]
    with store.engine.connect() as conn:
        rows = conn.execute(select(OutboxRow.topic, OutboxRow.payload).order_by(OutboxRow.id))
        return [(t, json.loads(p)) for t, p in rows]


def _record_varied_history(store: Store) -> None:
    """Opens, media, reports of every severity, operator statuses and closes of two incidents."""
    store.record(make_update("i-1", 1, zone="dock"), report=make_report("i-1", 1))
    store.add_media(
        MediaRef(
            incident_id="i-1",
            kind="keyframe:onset",
            path="2023-11-14/i-1/keyframe-onset-1.jpg",
            content_type="image/jpeg",
            ts_s=1_700_000_000.5,
            bytes=1000,
            width=640,
            height=480,
        )
    )
    store.add_media(
        MediaRef(
            incident_id="i-1",
            kind="clip",
            path="2023-11-14/i-1/clip-1.mp4",
            content_type="video/mp4",
            ts_s=1_700_000_000.0,
            bytes=90000,
            width=640,
            height=480,
            duration_s=8.0,
        )
    )
    store.record(make_update("i-1", 2, score=1.0))
    store.add_feedback(incident_id="i-1", action="acknowledge")
    store.record(make_update("i-1", 3, closed=True))
    for sev in Severity:
        fallback = replace(
            make_report("i-1", 3, backend="openai"),
            severity=sev,
            fallback_used=True,
            fallback_reason="grounding check failed: camera",
        )
        store.add_report(fallback)
    store.record(make_update("i-2", 1, camera_id="cam-b", kind=UpdateKind.UPDATE, score=0.0))
    store.add_feedback(incident_id="i-2", action="false_alarm")
    store.record(make_update("i-2", 2, camera_id="cam-b", closed=True))


def test_every_message_of_a_varied_history_validates(store: Store) -> None:
    _record_varied_history(store)
    payloads = _payloads(store)
    assert len(payloads) == 1 + 1 + 1 + 1 + len(Severity) + 2
    for topic, msg in payloads:
        assert_valid_message(topic, msg)
        assert msg["schema_version"] == SCHEMA_VERSION
    incidents = [m for t, m in payloads if t == "incidents"]
    assert {m["status"] for m in incidents} == {"open", "acknowledged", "false_alarm"}
    assert incidents[1]["media"][1]["content_type"] == "video/mp4"
    assert incidents[0]["opened_at"] == iso_utc(1_700_000_000.0) == "2023-11-14T22:13:20.000Z"


@pytest.mark.parametrize(
    ("topic", "mutate"),
    [
        ("incidents", lambda m: m.pop("version")),
        ("incidents", lambda m: m.update(status="maybe")),
        ("incidents", lambda m: m["score"].update(peak=1.5)),
        ("incidents", lambda m: m.update(extra=1)),
        ("incidents", lambda m: m["media"].append({"kind": "clip", "path": "../x"})),
        ("reports", lambda m: m.update(severity="urgent")),
        ("reports", lambda m: m.update(schema_version=2)),
    ],
)
def test_the_schemas_reject_malformed_messages(store: Store, topic: str, mutate: object) -> None:
    store.record(make_update("i-1", 1), report=make_report("i-1", 1))
    msg = next(m for t, m in _payloads(store) if t == topic)
    assert_valid_message(topic, msg)
    mutate(msg)  # type: ignore[operator]
    with pytest.raises(AssertionError, match="invalid"):
        assert_valid_message(topic, msg)


def test_every_message_of_a_varied_history_validates_against_the_models(store: Store) -> None:
    _record_varied_history(store)
    models: dict[str, type[BaseModel]] = {"incidents": IncidentMessage, "reports": ReportMessage}
    for topic, msg in _payloads(store):
        assert models[topic].model_validate(msg).model_dump() == msg


def test_the_committed_schemas_are_the_generated_ones(tmp_path: Path) -> None:
    committed = sorted(p.name for p in schemas.SCHEMA_DIR.glob("*.json"))
    assert committed == sorted(schemas.SCHEMAS), "a schema file without a model, or vice versa"
    assert schemas.stale() == [], "docs/schemas is out of date: run `make schemas`"
    assert schemas.main(["--out", str(tmp_path)]) == 0
    for name in schemas.SCHEMAS:
        written = (tmp_path / name).read_bytes()
        assert written == (schemas.SCHEMA_DIR / name).read_bytes(), name
        assert written.endswith(b"}\n")
    assert schemas.write(tmp_path) == []  # regenerating changes nothing
    assert schemas.main(["--check", "--out", str(tmp_path)]) == 0
    run = subprocess.run(
        [sys.executable, "-m", "storage.schemas", "--check"],
        cwd=schemas.SCHEMA_DIR.parents[1],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr


def test_a_stale_schema_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    schemas.write(tmp_path)
    name = "media-ref.v1.json"
    (tmp_path / name).write_text((tmp_path / name).read_text().replace("clip", "film"))
    assert schemas.stale(tmp_path) == [name]
    assert schemas.main(["--check", "--out", str(tmp_path)]) == 1
    assert "media-ref.v1.json is out of date" in capsys.readouterr().err
    assert schemas.write(tmp_path) == [tmp_path / name]
    assert schemas.stale(tmp_path) == []


def test_every_workflow_action_message_validates(store: Store) -> None:
    from storage.operator_store import OperatorStore
    from storage.repo_workflow import Action, Disposition

    ops = OperatorStore(store)
    store.record(make_update("i-1", 1), report=make_report("i-1", 1))
    ops.act("i-1", Action.ACKNOWLEDGE, actor="ana")
    ops.act("i-1", Action.NOTE, actor="token:ops", note="checked the dock")
    ops.act("i-1", Action.ASSIGN, actor="ana", owner="bo")
    ops.act("i-1", Action.RESOLVE, actor="bo", disposition=Disposition.FALSE_ALARM)
    ops.act("i-1", Action.REOPEN, actor="ana")
    actions = [m for t, m in _payloads(store) if t == "actions"]
    assert [m["version"] for m in actions] == [1, 2, 3, 4, 5]
    for msg in actions:
        assert_valid_message("actions", msg)
        assert ActionMessage.model_validate(msg).model_dump() == msg
    assert actions[3]["after"] == {"state": "resolved", "disposition": "false_alarm", "owner": "bo"}
