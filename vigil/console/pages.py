"""The console's own pages: login, the live alert list and one incident."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from vigil.api.deps import IncidentId, get_state
from vigil.console.shell import page_principal, render, safe_next, to_login

router = APIRouter(include_in_schema=False)


@router.get("/login")
def login_page(
    request: Request, next_: Annotated[str | None, Query(alias="next", max_length=2048)] = None
) -> Response:
    """The login form (no session needed); afterwards the browser goes to ``next``."""
    return render(request, "login.html", None, next=safe_next(next_))


@router.get("/")
def live_page(request: Request) -> Response:
    """The live list of unresolved incidents."""
    principal = page_principal(request)
    if principal is None:
        return to_login(request)
    return render(request, "live.html", principal, active="live")


@router.get("/incidents/{incident_id}")
def incident_page(request: Request, incident_id: IncidentId) -> Response:
    """One incident: media, reports, timeline, workflow (the data comes from the JSON API)."""
    principal = page_principal(request)
    if principal is None:
        return to_login(request)
    found = get_state(request).ops.incident(incident_id)
    # 404 (the page still renders and says so) for one outside the caller's cameras too
    visible = found is not None and principal.can_see(found[0].incident.camera_id)
    return render(
        request,
        "incident.html",
        principal,
        status_code=200 if visible else 404,
        incident_id=incident_id,
    )
