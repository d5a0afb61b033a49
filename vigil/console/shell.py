"""What every console page shares: templates, the caller from the session, the page response."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from vigil.api.deps import Principal, current_principal, get_state

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")

#: Pages load only this origin's scripts, styles, images and media: no CDN, no inline script.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def page_principal(request: Request) -> Principal | None:
    """The caller of a page (session cookie or bearer token), or None when not logged in."""
    try:
        return current_principal(request, get_state(request))
    except HTTPException:
        return None


def safe_next(target: str | None) -> str:
    """A same-site path to go to after login (anything else: the live list)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def to_login(request: Request) -> RedirectResponse:
    """Send a caller without a session to the login page, coming back here afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(here, safe='')}", status_code=303)


def render(
    request: Request,
    template: str,
    principal: Principal | None,
    *,
    active: str = "",
    status_code: int = 200,
    **context: Any,
) -> Response:
    """A page from ``template`` with the caller, its rights and the console's headers."""
    can_act = principal is not None and principal.at_least("operator")
    response: HTMLResponse = templates.TemplateResponse(
        request,
        template,
        {"user": principal, "can_act": can_act, "active": active, **context},
        status_code=status_code,
        headers=_HEADERS,
    )
    return response
