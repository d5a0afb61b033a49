"""The browser console: server-rendered page shells, vanilla JS modules and one stylesheet.

``mount(api)`` adds the page routers (``pages`` and ``pages_more``) and ``/static`` to the
operator service; the pages use the JSON API under ``/api`` with the session cookie.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from vigil.console.shell import STATIC_DIR


def routers() -> list[APIRouter]:
    """The console's page routers (HTML only, left out of the OpenAPI schema)."""
    from vigil.console import pages, pages_more

    return [pages.router, pages_more.router]


def mount(api: FastAPI) -> None:
    """Serve the console's pages and static files from ``api``."""
    for router in routers():
        api.include_router(router)
    api.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
