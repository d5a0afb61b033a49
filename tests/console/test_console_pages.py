"""The console's pages: who gets a page, who is sent to /login, what the HTML may load."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.vigil.api.api_kit import World
from vigil.console.shell import STATIC_DIR

PAGES = ["/", "/incidents/inc-00001"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_render_for_a_logged_in_user(
    login: Callable[..., TestClient], sqlite_world: World, path: str
) -> None:
    sqlite_world.record()
    r = login("viewer").get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert '<html lang="en">' in r.text
    for nav in ('href="/"', 'href="/history"', 'href="/cameras"', 'href="/handover"'):
        assert nav in r.text
    assert ">Log out</button>" in r.text


@pytest.mark.parametrize("path", PAGES)
def test_pages_send_a_caller_without_session_to_login(anon: TestClient, path: str) -> None:
    r = anon.get(path, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")
    assert r.headers["location"].endswith(path.replace("/", "%2F"))


def test_an_expired_session_is_sent_to_login(sqlite_world: World, anon: TestClient) -> None:
    uid = sqlite_world.user("old", "operator")
    anon.cookies.set("vigil_session", sqlite_world.session(uid, ttl_s=-1.0))
    r = anon.get("/", follow_redirects=False)
    assert r.status_code == 303


def test_login_page_renders_without_a_session(anon: TestClient) -> None:
    r = anon.get("/login?next=/incidents/x")
    assert r.status_code == 200
    assert 'data-next="/incidents/x"' in r.text
    assert '<label for="login-user">' in r.text
    assert 'role="alert"' in r.text
    assert "Log out" not in r.text  # no header without a session


@pytest.mark.parametrize("bad", ["https://evil.example/", "//evil.example/x", "javascript:x"])
def test_login_next_stays_on_this_site(anon: TestClient, bad: str) -> None:
    r = anon.get("/login", params={"next": bad})
    assert 'data-next="/"' in r.text


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("app.css", "text/css"),
        ("api.js", "text/javascript"),
        ("sse.js", "text/javascript"),
        ("shell.js", "text/javascript"),
        ("icon.svg", "image/svg+xml"),
    ],
)
def test_static_files_have_their_content_types(anon: TestClient, name: str, kind: str) -> None:
    r = anon.get(f"/static/{name}")
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0] == kind


def _external(text: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//[^"'\s>]*""", text)


def test_nothing_is_loaded_from_outside(login: Callable[..., TestClient], anon: TestClient) -> None:
    client = login("admin")
    for path in [*PAGES]:
        assert not _external(client.get(path).text), path
    assert not _external(anon.get("/login").text)
    for f in Path(STATIC_DIR).iterdir():
        text = f.read_text(encoding="utf-8")
        assert not re.search(r"""(?:import|from)\s*\(?\s*["'](?:https?:)?//""", text), f.name
        assert not re.search(r"""@import\s+url\(\s*["']?https?:""", text), f.name
        assert "cdn" not in text.lower(), f.name


def test_page_routes_are_not_in_the_openapi(anon: TestClient) -> None:
    paths = anon.get("/api/openapi.json").json()["paths"]
    assert all(p.startswith("/api/") or p == "/metrics" for p in paths), sorted(paths)


ACTIONS = ("Acknowledge", "Investigate", "Resolve", "False alarm", "Add note")


@pytest.mark.parametrize("path", PAGES)
def test_viewers_get_no_action_buttons(
    login: Callable[..., TestClient], sqlite_world: World, path: str
) -> None:
    sqlite_world.record()
    viewer = login("viewer")
    html = viewer.get(path).text
    assert 'data-can-act="false"' in html
    for name in ACTIONS:
        assert f">{name}</button>" not in html
    assert 'id="resolve-dialog"' not in html
    # the pages' scripts take the role from /api/auth/me
    assert viewer.get("/api/auth/me").json()["role"] == "viewer"


@pytest.mark.parametrize("role", ["operator", "admin"])
def test_operators_and_admins_get_the_action_buttons(
    login: Callable[..., TestClient], sqlite_world: World, role: str
) -> None:
    inc = sqlite_world.record()
    client = login(role)
    live = client.get("/").text
    for name in ACTIONS:
        assert f">{name}</button>" in live
    page = client.get(f"/incidents/{inc}").text
    for name in ("Acknowledge", "Investigate", "Resolve", "False alarm", "Add note", "Assign"):
        assert f">{name}</button>" in page
    assert f'data-incident-id="{inc}"' in page
    assert client.get("/api/auth/me").json()["role"] == role


def test_the_scripts_act_only_for_operators_and_admins() -> None:
    shell = (Path(STATIC_DIR) / "shell.js").read_text(encoding="utf-8")
    assert 'user.role === "operator" || user.role === "admin"' in shell
    for page in ("live.js", "incident.js"):
        text = (Path(STATIC_DIR) / page).read_text(encoding="utf-8")
        assert "mayAct = await canAct()" in text
        assert "if (!mayAct" in text, page


def test_the_live_list_is_labelled_for_assistive_technology(
    login: Callable[..., TestClient],
) -> None:
    html = login("operator").get("/").text
    assert 'role="grid" aria-label="Live alerts"' in html
    assert '<h1 id="live-title">Live alerts</h1>' in html
    assert '<nav aria-label="Main">' in html
    assert '<main id="main"' in html


def test_every_template_and_static_file_ships_in_the_package() -> None:
    import fnmatch
    import tomllib

    root = Path(STATIC_DIR).parent
    with (root.parents[1] / "pyproject.toml").open("rb") as f:
        patterns = tomllib.load(f)["tool"]["setuptools"]["package-data"]["vigil.console"]
    files = [p for d in ("templates", "static") for p in (root / d).rglob("*") if p.is_file()]
    assert files
    for path in files:
        rel = path.relative_to(root).as_posix()
        assert any(fnmatch.fnmatch(rel, pat) for pat in patterns), f"{rel} is not package data"


def test_an_incident_page_outside_ones_cameras_is_404(
    login: Callable[..., TestClient], sqlite_world: World
) -> None:
    inc = sqlite_world.record(camera_id="cam-a")
    assert login("viewer", ["cam-a"]).get(f"/incidents/{inc}").status_code == 200
    assert login("viewer", ["cam-b"]).get(f"/incidents/{inc}").status_code == 404
    assert login("viewer").get("/incidents/no-such-incident").status_code == 404
