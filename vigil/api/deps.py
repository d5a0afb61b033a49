"""Who is asking: the session cookie or bearer token of a request, checked on every endpoint."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status

from storage.repo_auth import ROLES
from vigil.api.schemas import NO_NUL
from vigil.api.state import ApiState
from vigil.auth import secret_hash

log = logging.getLogger(__name__)

#: Name of the browser session cookie.
SESSION_COOKIE = "vigil_session"

#: Largest id a database integer column holds (64-bit signed).
MAX_DB_INT = 2**63 - 1

IncidentId = Annotated[
    str, Path(min_length=1, max_length=128, pattern=NO_NUL, description="Incident id.")
]
CameraId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=NO_NUL, description="Camera id.")
]
MediaId = Annotated[int, Path(ge=1, le=MAX_DB_INT, description="Media id.")]


@dataclass(frozen=True, slots=True)
class Principal:
    """A logged-in user or an API token, with its role and cameras (None: every camera)."""

    name: str
    role: str
    cameras: tuple[str, ...] | None
    kind: str  # "user" or "token"
    session_hash: str | None = None
    token_hash: str | None = None

    def at_least(self, role: str) -> bool:
        """True if this principal's role is ``role`` or above."""
        return ROLES.index(self.role) >= ROLES.index(role)

    def can_see(self, camera_id: str) -> bool:
        """True if this principal may see ``camera_id``."""
        return self.cameras is None or camera_id in self.cameras

    @property
    def actor(self) -> str:
        """How the audit trail names this principal."""
        return self.name if self.kind == "user" else f"token:{self.name}"


def get_state(request: Request) -> ApiState:
    """The service's shared state."""
    state: ApiState = request.app.state.vigil
    return state


State = Annotated[ApiState, Depends(get_state)]

_UNAUTHORIZED = HTTPException(
    status.HTTP_401_UNAUTHORIZED,
    detail="log in (POST /api/auth/login) or send Authorization: Bearer <token>",
    headers={"WWW-Authenticate": "Bearer"},
)


def current_principal(request: Request, state: State) -> Principal:
    """The caller, from the bearer token or the session cookie; 401 when neither is valid."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _UNAUTHORIZED
        hashed = secret_hash(token.strip())
        record = state.ops.token_by_hash(hashed)
        if record is None:
            log.info("API: rejected a bearer token (unknown or revoked)")
            raise _UNAUTHORIZED
        return Principal(record.name, record.role, record.cameras, "token", token_hash=hashed)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        hashed = secret_hash(cookie)
        user = state.ops.session_user(hashed)
        if user is not None:
            return Principal(user.name, user.role, user.cameras, "user", session_hash=hashed)
    raise _UNAUTHORIZED


def still_valid(state: ApiState, principal: Principal) -> bool:
    """True while the principal's token is not revoked / its session not ended or expired."""
    if principal.token_hash is not None:
        return state.ops.token_by_hash(principal.token_hash) is not None
    if principal.session_hash is not None:
        return state.ops.session_user(principal.session_hash) is not None
    return True


def _role(role: str) -> object:
    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.at_least(role):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"this needs the {role} role (you are {principal.role})",
            )
        return principal

    return Depends(check)


Viewer = Annotated[Principal, _role("viewer")]
Operator = Annotated[Principal, _role("operator")]
Admin = Annotated[Principal, _role("admin")]


def check_camera(principal: Principal, camera_id: str) -> None:
    """404 (not 403: ids of cameras one may not see are not confirmed) outside one's cameras."""
    if not principal.can_see(camera_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no camera {camera_id!r}")
