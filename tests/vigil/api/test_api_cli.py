"""`vigil users` and `vigil tokens` in a child process, checked through the API."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_kit import World, bearer
from fastapi.testclient import TestClient

from tests.support.cli import run_vigil

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def cfg(world: World, db_url: str, tmp_path: Path) -> str:
    path = tmp_path / "vigil.yaml"
    path.write_text(
        f"storage:\n  database_url: {db_url!r}\n  media_dir: {str(world.media_dir)!r}\n"
        "cameras: []\n",
        encoding="utf-8",
    )
    return str(path)


def _login(client: TestClient, user: str, password: str) -> int:
    r = client.post("/api/auth/login", json={"username": user, "password": password})
    return r.status_code


def test_users_add_reads_the_password_from_stdin(cfg: str, client: TestClient) -> None:
    done = run_vigil(
        "users", "add", "olga", "--role", "operator", "-c", cfg, input_text="long enough pw\n"
    )
    assert done.returncode == 0, done.stderr
    assert "added user olga (operator)" in done.stdout
    assert "long enough pw" not in done.stdout + done.stderr
    assert _login(client, "olga", "long enough pw") == 200
    assert client.get("/api/auth/me").json()["role"] == "operator"
    listed = run_vigil("users", "list", "-c", cfg)
    assert listed.returncode == 0 and "olga" in listed.stdout and "operator" in listed.stdout


@pytest.mark.parametrize("password", ["short", "", " padded password "])
def test_users_add_refuses_a_weak_password(
    cfg: str, world: World, client: TestClient, password: str
) -> None:
    done = run_vigil("users", "add", "olga", "-c", cfg, input_text=password + "\n")
    assert done.returncode == 2
    assert "error:" in done.stderr
    assert world.ops.user_with_hash("olga") is None


def test_users_add_generate_prints_a_working_password(
    cfg: str, client: TestClient, world: World
) -> None:
    done = run_vigil("users", "add", "gen", "--generate", "--cameras", "cam-b", "-c", cfg)
    assert done.returncode == 0, done.stderr
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("password: ")]
    assert len(lines) == 1
    password = lines[0].removeprefix("password: ")
    assert len(password) >= 10
    assert _login(client, "gen", password) == 200
    assert client.get("/api/auth/me").json()["cameras"] == ["cam-b"]
    again = run_vigil("users", "add", "gen", "--generate", "-c", cfg)
    assert again.returncode == 1 and "already exists" in again.stderr
    bad_role = run_vigil("users", "add", "x", "--role", "root", "--generate", "-c", cfg)
    assert bad_role.returncode == 1 and world.ops.user_with_hash("x") is None


def test_tokens_create_list_revoke(cfg: str, client: TestClient) -> None:
    done = run_vigil(
        "tokens", "create", "nvr", "--role", "operator", "--cameras", "cam-a", "-c", cfg
    )
    assert done.returncode == 0, done.stderr
    tokens = [ln for ln in done.stdout.splitlines() if ln.startswith("vgl_")]
    assert len(tokens) == 1
    token = tokens[0]
    me = client.get("/api/auth/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.json() == {"name": "nvr", "role": "operator", "kind": "token", "cameras": ["cam-a"]}
    listed = run_vigil("tokens", "list", "-c", cfg)
    assert listed.returncode == 0
    assert "nvr" in listed.stdout and "active" in listed.stdout
    assert token not in listed.stdout and token[4:] not in listed.stdout
    revoked = run_vigil("tokens", "revoke", "nvr", "-c", cfg)
    assert revoked.returncode == 0, revoked.stderr
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 401
    listed = run_vigil("tokens", "list", "-c", cfg)
    assert "revoked" in listed.stdout and token not in listed.stdout
    missing = run_vigil("tokens", "revoke", "nope", "-c", cfg)
    assert missing.returncode == 1 and "no token" in missing.stderr
