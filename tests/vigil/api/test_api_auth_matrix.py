"""Every endpoint × role × camera scope × kind of credential, on SQLite and PostgreSQL.

Only GET /api/health answers without credentials; missing or dead credentials give 401, a
role below the endpoint's 403, an incident, media or camera outside one's cameras 404.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_kit import World, add_keyframe, free_port, open_world

from storage.repo_auth import ROLES
from storage.repo_workflow import Action, Disposition
from tests.support.pg import BACKENDS, fresh_pg_schema
from vigil.api.server import ApiServer

pytestmark = pytest.mark.timeout(300)

SCOPES = {"all": None, "other": ["cam-b"]}  # "other" excludes cam-a, where incidents are
CREDS = ("cookie", "token", "none", "revoked_token", "expired_session", "garbage_bearer")


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str
    role: str | None  # None: any logged-in caller; "public": no credentials needed
    scoped: bool  # 404 outside one's cameras
    body: dict[str, Any] | None = None
    fresh: str | None = None  # "new" / "resolved": a fresh incident per cell
    listed: Callable[[httpx.Response], set[str]] | None = None  # ids a list shows
    ok: int = 200  # what an allowed caller gets (this server runs no pipeline)


def _ids_of_page(r: httpx.Response) -> set[str]:
    return {i["id"] for i in r.json()["items"]}


def _ids_of_list(r: httpx.Response) -> set[str]:
    return {i["id"] for i in r.json()}


ENDPOINTS = [
    Endpoint("health", "GET", "/api/health", "public", False),
    Endpoint("me", "GET", "/api/auth/me", None, False),
    Endpoint("list", "GET", "/api/incidents", "viewer", False, listed=_ids_of_page),
    Endpoint("detail", "GET", "/api/incidents/{inc}", "viewer", True),
    Endpoint("neighbours", "GET", "/api/incidents/{inc}/neighbours", "viewer", True),
    Endpoint(
        "export", "GET", "/api/incidents/export?format=json", "viewer", False, listed=_ids_of_list
    ),
    Endpoint("media", "GET", "/api/media/{media}", "viewer", True),
    Endpoint("thumbnail", "GET", "/api/incidents/{inc}/thumbnail", "viewer", True),
    Endpoint("events", "GET", "/api/events", "viewer", False),
    Endpoint("cameras", "GET", "/api/cameras", "viewer", False, listed=_ids_of_list),
    Endpoint("ready", "GET", "/api/ready", "viewer", False),
    Endpoint(
        "acknowledge", "POST", "/api/incidents/{inc}/acknowledge", "operator", True, {}, "new"
    ),
    Endpoint(
        "investigate", "POST", "/api/incidents/{inc}/investigate", "operator", True, {}, "new"
    ),
    Endpoint(
        "resolve",
        "POST",
        "/api/incidents/{inc}/resolve",
        "operator",
        True,
        {"disposition": "false_alarm"},
        "new",
    ),
    Endpoint("reopen", "POST", "/api/incidents/{inc}/reopen", "operator", True, {}, "resolved"),
    Endpoint(
        "notes", "POST", "/api/incidents/{inc}/notes", "operator", True, {"note": "hi"}, "new"
    ),
    Endpoint(
        "assign",
        "POST",
        "/api/incidents/{inc}/assign",
        "operator",
        True,
        {"owner": "admin-all"},
        "new",
    ),
    Endpoint("snooze", "POST", "/api/cameras/cam-a/snooze", "operator", True, {"minutes": 5}),
    Endpoint("metrics", "GET", "/metrics", "viewer", False),
    Endpoint("search", "GET", "/api/search?q=fell&mode=text", "viewer", False),
    Endpoint("handover", "GET", "/api/handover", "viewer", False),
    Endpoint("snapshot", "GET", "/api/cameras/cam-a/snapshot", "viewer", True, ok=503),
    Endpoint(
        "probe", "POST", "/api/cameras/probe", "operator", False, {"url": "rtsp://127.0.0.1:9/x"}
    ),
    Endpoint(
        "add_camera",
        "POST",
        "/api/cameras",
        "admin",
        False,
        {"id": "cam-new", "url": "rtsp://127.0.0.1:9/x"},
        ok=409,
    ),
    Endpoint("update_camera", "PATCH", "/api/cameras/cam-a", "admin", True, {"fps": 2}, ok=409),
    Endpoint("remove_camera", "DELETE", "/api/cameras/cam-a", "admin", True, ok=409),
]


def expected(ep: Endpoint, role: str, scope: str, cred: str) -> int:
    """The status one cell must answer."""
    if ep.role == "public":
        return 200
    if cred not in ("cookie", "token"):
        return 401
    if ep.role is not None and ROLES.index(role) < ROLES.index(ep.role):
        return 403
    if ep.scoped and scope == "other":
        return 404
    return ep.ok


@dataclass
class Env:
    world: World
    server: ApiServer
    http: httpx.Client
    incident: str
    media: int
    creds: dict[tuple[str, str, str], dict[str, str]]


def _creds(w: World) -> dict[tuple[str, str, str], dict[str, str]]:
    out: dict[tuple[str, str, str], dict[str, str]] = {}
    for role in ROLES:
        for scope, cams in SCOPES.items():
            uid = w.user(f"{role}-{scope}", role, cams)
            tok = w.token(f"{role}-{scope}", role, cams)
            dead = w.token(f"{role}-{scope}-revoked", role, cams)
            w.ops.revoke_token(f"{role}-{scope}-revoked")
            cookie = f"vigil_session={w.session(uid)}"
            expired = f"vigil_session={w.session(uid, ttl_s=-1.0)}"
            out[(role, scope, "cookie")] = {"Cookie": cookie}
            out[(role, scope, "token")] = {"Authorization": f"Bearer {tok}"}
            out[(role, scope, "none")] = {}
            out[(role, scope, "revoked_token")] = {"Authorization": f"Bearer {dead}"}
            out[(role, scope, "expired_session")] = {"Cookie": expired}
            out[(role, scope, "garbage_bearer")] = {"Authorization": "Bearer vgl_not-a-token"}
    return out


@pytest.fixture(scope="module", params=BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp(f"matrix-{request.param}")
    if request.param == "sqlite":
        yield from _env(f"sqlite:///{tmp / 'vigil.db'}", tmp)
        return
    if not request.getfixturevalue("pg_available"):
        pytest.skip("VIGIL_SKIP_PG=1")
    with fresh_pg_schema() as url:
        yield from _env(url, tmp)


def _env(url: str, tmp: Path) -> Iterator[Env]:
    w = open_world(url, tmp, bind=f"127.0.0.1:{free_port()}")
    incident = w.record()
    media = w.add_media(incident, "clips/a.mp4", b"0123456789")
    add_keyframe(w, incident, "kf/a.jpg")
    creds = _creds(w)
    server = ApiServer(w.ops, w.config, media_dir=w.media_dir)
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=20.0) as http:
            yield Env(w, server, http, incident, media, creds)
    finally:
        server.stop()
        w.store.close()


def _incident_for(env: Env, ep: Endpoint) -> str:
    if ep.fresh is None:
        return env.incident
    inc = env.world.record()
    if ep.fresh == "resolved":
        env.world.ops.act(inc, Action.RESOLVE, actor="setup", disposition=Disposition.TRUE_ALARM)
    return inc


CELLS = [
    pytest.param(ep, role, scope, cred, id=f"{ep.name}-{role}-{scope}-{cred}")
    for ep in ENDPOINTS
    for role in ROLES
    for scope in SCOPES
    for cred in CREDS
]


@pytest.mark.parametrize(("ep", "role", "scope", "cred"), CELLS)
def test_cell(env: Env, ep: Endpoint, role: str, scope: str, cred: str) -> None:
    inc = _incident_for(env, ep)
    path = ep.path.format(inc=inc, media=env.media)
    headers = env.creds[(role, scope, cred)]
    want = expected(ep, role, scope, cred)
    with env.http.stream(ep.method, path, headers=headers, json=ep.body) as r:
        if ep.name != "events" or r.status_code != 200:
            r.read()
        got = r.status_code
        if got == 200 and ep.name == "events":
            assert r.headers["content-type"].startswith("text/event-stream")
    assert got == want, f"{ep.method} {path} as {role}/{scope}/{cred}: {got}, want {want}"
    if want == 401:
        assert r.headers.get("www-authenticate") == "Bearer"
    if want == 200 and ep.listed is not None:
        shown = ep.listed(r)
        target = "cam-a" if ep.name == "cameras" else env.incident
        assert (target in shown) == (scope == "all"), f"{ep.name} scope leak or miss: {shown}"
    if want == 200 and ep.name == "thumbnail":
        assert r.headers["content-type"] == "image/jpeg"
    if want == 200 and ep.name == "media":
        assert r.content == b"0123456789"
    if want != 200 and ep.fresh is not None:
        trail = env.world.ops.incident(inc)
        assert trail is not None
        assert [e.actor for e in trail[2]] in ([], ["setup"]), "a refused action left a trace"


def test_matrix_covers_every_route(env: Env) -> None:
    # every API route of the app is a row of the table (login/logout are tested on their own)

    table = {(ep.method, ep.path.split("?")[0].replace("cam-a", "{camera_id}")) for ep in ENDPOINTS}
    table = {
        (m, p.replace("{inc}", "{incident_id}").replace("{media}", "{media_id}")) for m, p in table
    }
    paths = env.server.app.openapi()["paths"]
    routes = {
        (method.upper(), path)
        for path, ops in paths.items()
        if not path.startswith("/api/auth/log")
        for method in ops
    }
    assert routes == table
