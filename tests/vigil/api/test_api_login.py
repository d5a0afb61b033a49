"""Logging in and out: the cookie, wrong passwords, the lockout, `vigil users passwd`."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from api_kit import PASSWORD, World, open_world
from fastapi.testclient import TestClient

from tests.support.cli import run_vigil
from vigil.api.app import create_app

pytestmark = pytest.mark.timeout(120)


def _login(client: TestClient, user: str = "ann", password: str = PASSWORD) -> int:
    r = client.post("/api/auth/login", json={"username": user, "password": password})
    return r.status_code


def test_login_sets_a_strict_httponly_cookie(world: World, client: TestClient) -> None:
    world.user("ann", "operator", ["cam-a"])
    r = client.post("/api/auth/login", json={"username": "ann", "password": PASSWORD})
    assert r.status_code == 200
    assert r.json() == {"name": "ann", "role": "operator", "kind": "user", "cameras": ["cam-a"]}
    cookie = r.headers["set-cookie"]
    parts = [p.strip().lower() for p in cookie.split(";")]
    assert parts[0].startswith("vigil_session=")
    assert "httponly" in parts
    assert "samesite=strict" in parts
    assert "path=/" in parts
    assert "secure" not in parts  # api.secure_cookies is off by default
    me = client.get("/api/auth/me")
    assert me.status_code == 200 and me.json()["name"] == "ann"


def test_wrong_password_and_unknown_user_are_401_and_logged(
    world: World, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    world.user("ann", "viewer")
    with caplog.at_level(logging.WARNING, logger="vigil.api"):
        assert _login(client, password="not the password") == 401
        assert _login(client, user="nobody") == 401
    failed = [r.getMessage() for r in caplog.records if "failed login" in r.getMessage()]
    assert len(failed) == 2
    assert "'ann'" in failed[0] and "'nobody'" in failed[1]
    assert all(PASSWORD not in m and "not the password" not in m for m in failed)
    assert (
        "set-cookie"
        not in client.post("/api/auth/login", json={"username": "ann", "password": "nope"}).headers
    )


def test_too_many_failures_lock_out_with_retry_after(db_url: str, tmp_path: Path) -> None:
    w = open_world(db_url, tmp_path, login_attempts=3, login_lockout_s=600.0)
    try:
        w.user("ann", "viewer")
        w.user("bob", "viewer")
        with TestClient(create_app(w.ops, w.config, media_dir=w.media_dir)) as client:
            assert [_login(client, password="wrong-wrong") for _ in range(3)] == [401] * 3
            r = client.post("/api/auth/login", json={"username": "ann", "password": PASSWORD})
            assert r.status_code == 429  # even the right password, while locked out
            retry = int(r.headers["retry-after"])
            assert 0 < retry <= 601
            assert "set-cookie" not in r.headers
            assert _login(client, user="bob") == 200  # another user is not locked out
    finally:
        w.store.close()


def test_success_forgets_earlier_failures(db_url: str, tmp_path: Path) -> None:
    w = open_world(db_url, tmp_path, login_attempts=2)
    try:
        w.user("ann", "viewer")
        with TestClient(create_app(w.ops, w.config, media_dir=w.media_dir)) as client:
            assert _login(client, password="wrong-wrong") == 401
            assert _login(client) == 200
            assert _login(client, password="wrong-wrong") == 401
            assert _login(client) == 200
    finally:
        w.store.close()


def test_logout_ends_the_session(world: World, client: TestClient) -> None:
    world.user("ann", "viewer")
    assert _login(client) == 200
    cookie = client.cookies["vigil_session"]
    assert client.post("/api/auth/logout").status_code == 204
    client.cookies.clear()
    r = client.get("/api/auth/me", headers={"Cookie": f"vigil_session={cookie}"})
    assert r.status_code == 401


def test_session_expires_on_the_store_clock(world: World, client: TestClient) -> None:
    uid = world.user("ann", "viewer")
    cookie = {"Cookie": f"vigil_session={world.session(uid, ttl_s=60.0)}"}
    assert client.get("/api/auth/me", headers=cookie).status_code == 200
    world.clock.advance(61.0)
    assert client.get("/api/auth/me", headers=cookie).status_code == 401


def _config(tmp: Path, db_url: str) -> Path:
    cfg = tmp / "vigil.yaml"
    cfg.write_text(
        f"storage:\n  database_url: {db_url!r}\n  media_dir: {str(tmp / 'media')!r}\ncameras: []\n",
        encoding="utf-8",
    )
    return cfg


def test_users_passwd_ends_sessions(
    world: World, client: TestClient, db_url: str, tmp_path: Path
) -> None:
    world.user("ann", "operator")
    assert _login(client) == 200
    assert client.get("/api/auth/me").status_code == 200
    done = run_vigil(
        "users",
        "passwd",
        "ann",
        "-c",
        str(_config(tmp_path, db_url)),
        input_text="a new passw0rd!\n",
    )
    assert done.returncode == 0, done.stderr
    assert client.get("/api/auth/me").status_code == 401
    assert _login(client) == 401
    assert _login(client, password="a new passw0rd!") == 200
