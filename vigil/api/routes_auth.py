"""Login, logout and who-am-I."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from vigil.api.deps import SESSION_COOKIE, Principal, State, current_principal
from vigil.api.schemas import LoginIn, MeOut
from vigil.auth import hash_password, new_session_id, secret_hash, verify_password

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/auth", tags=["auth"])

#: checked against when a user does not exist, so both cases take as long
_DUMMY_HASH = hash_password("no such user: this hash only costs the same time")


def _me(p: Principal) -> MeOut:
    return MeOut(
        name=p.name,
        role=p.role,
        kind=p.kind,
        cameras=None if p.cameras is None else list(p.cameras),
    )


@router.post("/login", response_model=MeOut)
def login(body: LoginIn, request: Request, response: Response, state: State) -> MeOut:
    """Check a user's password and set the session cookie (HttpOnly, SameSite=Strict)."""
    address = request.client.host if request.client else "?"
    wait = state.limiter.locked_for(body.username, address)
    if wait > 0:
        log.warning("API: login of %r from %s locked out for %.0f s", body.username, address, wait)
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"too many failed logins; try again in {wait:.0f} s",
            headers={"Retry-After": str(int(wait) + 1)},
        )
    found = state.ops.user_with_hash(body.username)
    ok = verify_password(found[1] if found else _DUMMY_HASH, body.password) and found is not None
    if not ok or found is None:
        state.limiter.failed(body.username, address)
        log.warning("API: failed login of %r from %s", body.username, address)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="wrong user name or password")
    state.limiter.succeeded(body.username, address)
    user = found[0]
    session_id = new_session_id()
    ttl = state.config.api.session_hours * 3600.0
    state.ops.add_session(session_hash=secret_hash(session_id), user_id=user.id, ttl_s=ttl)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(ttl),
        httponly=True,
        samesite="strict",
        secure=state.config.api.secure_cookies,
        path="/",
    )
    log.info("API: %s logged in from %s", user.name, address)
    return MeOut(
        name=user.name, role=user.role, kind="user", cameras=user.cameras and list(user.cameras)
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(
    response: Response, state: State, principal: Annotated[Principal, Depends(current_principal)]
) -> None:
    """End the caller's browser session."""
    if principal.session_hash is not None:
        state.ops.remove_session(principal.session_hash)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/me", response_model=MeOut)
def me(principal: Annotated[Principal, Depends(current_principal)]) -> MeOut:
    """Who the caller is, with role and cameras."""
    return _me(principal)
