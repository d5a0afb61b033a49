"""``vigil users`` and ``vigil tokens``: who may use the operator service."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from vigil.cli_common import ConfigOpt, load_or_exit

if TYPE_CHECKING:
    from storage.operator_store import OperatorStore

users_app = typer.Typer(help="Users of the operator service (viewer, operator, admin).")
tokens_app = typer.Typer(help="API tokens for integrations (shown once, stored as a hash).")

Role = Annotated[str, typer.Option("--role", help="viewer, operator or admin.")]
Cameras = Annotated[
    str | None,
    typer.Option("--cameras", help="Comma-separated camera ids it may see (default: all)."),
]


def _ops(config: ConfigOpt, *, create: bool = False) -> OperatorStore:
    from storage.errors import StorageError
    from storage.operator_store import OperatorStore
    from storage.store import Store

    cfg = load_or_exit(config)
    try:
        return OperatorStore(Store.open(cfg.storage, create_if_empty=create))
    except StorageError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@contextmanager
def _opened(config: ConfigOpt, *, create: bool = False) -> Iterator[OperatorStore]:
    """The operator store for one command, closed on leaving; an ``AuthStoreError`` inside
    (no such user, name taken, ...) prints ``error: ...`` and exits 1."""
    from storage.repo_auth import AuthStoreError

    ops = _ops(config, create=create)
    try:
        yield ops
    except AuthStoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        ops.store.close()


def _camera_list(cameras: str | None) -> list[str] | None:
    if cameras is None:
        return None
    ids = [c.strip() for c in cameras.split(",") if c.strip()]
    if not ids:
        typer.echo("error: --cameras needs at least one camera id", err=True)
        raise typer.Exit(2)
    return ids


def _read_password(generate: bool) -> tuple[str, bool]:
    """The new password: generated, or read from stdin (first line)."""
    from vigil.auth import check_password_strength, generate_password

    if generate or sys.stdin.isatty():
        if not generate:
            typer.echo("no password on stdin: generating one", err=True)
        return generate_password(), True
    password = sys.stdin.readline().rstrip("\r\n")
    problem = check_password_strength(password)
    if problem:
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(2)
    return password, False


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name.")],
    config: ConfigOpt,
    role: Role = "viewer",
    cameras: Cameras = None,
    generate: Annotated[bool, typer.Option(help="Generate a password and print it.")] = False,
) -> None:
    """Add a user; the password is read from stdin, or generated and printed once."""
    from vigil.auth import hash_password

    password, generated = _read_password(generate)
    with _opened(config, create=True) as ops:
        ops.add_user(
            name=name,
            role=role,
            password_hash=hash_password(password),
            cameras=_camera_list(cameras),
        )
    typer.echo(f"added user {name} ({role})")
    if generated:
        typer.echo(f"password: {password}")


@users_app.command("list")
def users_list(config: ConfigOpt) -> None:
    """List users with role and cameras."""
    with _opened(config) as ops:
        for u in ops.list_users():
            cams = "all cameras" if u.cameras is None else ",".join(u.cameras)
            typer.echo(f"{u.name:<24} {u.role:<9} {cams}")


@users_app.command("remove")
def users_remove(name: Annotated[str, typer.Argument()], config: ConfigOpt) -> None:
    """Remove a user (its sessions end)."""
    with _opened(config) as ops:
        ops.remove_user(name)
    typer.echo(f"removed user {name}")


@users_app.command("passwd")
def users_passwd(
    name: Annotated[str, typer.Argument()],
    config: ConfigOpt,
    generate: Annotated[bool, typer.Option(help="Generate a password and print it.")] = False,
) -> None:
    """Set a user's password from stdin (or generate one); its sessions end."""
    from vigil.auth import hash_password

    password, generated = _read_password(generate)
    with _opened(config) as ops:
        ops.set_password(name, hash_password(password))
    typer.echo(f"password of {name} changed" + (f": {password}" if generated else ""))


@tokens_app.command("create")
def tokens_create(
    name: Annotated[str, typer.Argument(help="Token name (e.g. the integration).")],
    config: ConfigOpt,
    role: Role = "viewer",
    cameras: Cameras = None,
) -> None:
    """Create an API token and print it once (only its hash is stored)."""
    from vigil.auth import new_token, secret_hash

    token = new_token()
    with _opened(config, create=True) as ops:
        ops.add_token(
            name=name, role=role, token_hash=secret_hash(token), cameras=_camera_list(cameras)
        )
    typer.echo(f"token {name} ({role}); it is shown only now:")
    typer.echo(token)


@tokens_app.command("list")
def tokens_list(config: ConfigOpt) -> None:
    """List tokens (never their value)."""
    with _opened(config) as ops:
        for t in ops.list_tokens():
            cams = "all cameras" if t.cameras is None else ",".join(t.cameras)
            state = "revoked" if t.revoked_ts_s is not None else "active"
            typer.echo(f"{t.name:<24} {t.role:<9} {state:<8} {cams}")


@tokens_app.command("revoke")
def tokens_revoke(name: Annotated[str, typer.Argument()], config: ConfigOpt) -> None:
    """Revoke a token; it stops working at once."""
    with _opened(config) as ops:
        ops.revoke_token(name)
    typer.echo(f"revoked token {name}")
