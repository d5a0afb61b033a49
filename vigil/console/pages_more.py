"""The console's history, cameras and shift handover pages (their data comes from the JSON API)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from engines.types import EVENT_TYPES
from reports.types import Severity
from storage.repo_workflow import WorkflowState
from vigil.config_checks import DEFAULT_CAMERA_EVENTS
from vigil.console.shell import page_principal, render, to_login

router = APIRouter(include_in_schema=False)

#: Severities as the filter offers them, least severe first.
SEVERITIES = [s.value for s in Severity]


def _page(request: Request, template: str, active: str, **context: Any) -> Response:
    """``template`` for a logged-in caller; a caller without a session goes to /login."""
    principal = page_principal(request)
    if principal is None:
        return to_login(request)
    is_admin = principal.at_least("admin")
    return render(request, template, principal, active=active, is_admin=is_admin, **context)


def named_options(values: Iterable[str]) -> list[tuple[str, str]]:
    """(value, label) pairs for a select: ``false_alarm`` is shown as "False alarm"."""
    return [(v, v.replace("_", " ").capitalize()) for v in values]


@router.get("/history")
def history_page(request: Request) -> Response:
    """Every incident: the list's filters, report search, export; the query in the URL."""
    return _page(
        request,
        "history.html",
        "history",
        event_types=named_options(EVENT_TYPES),
        workflow_states=named_options(s.value for s in WorkflowState),
        severities=named_options(SEVERITIES),
    )


@router.get("/cameras")
def cameras_page(request: Request) -> Response:
    """A card per camera; snooze for operators; add, change, remove and zones for admins."""
    return _page(
        request,
        "cameras.html",
        "cameras",
        event_types=list(EVENT_TYPES),
        default_events=list(DEFAULT_CAMERA_EVENTS),
    )


@router.get("/handover")
def handover_page(request: Request) -> Response:
    """The shift handover: summary, open incidents with notes, what was resolved."""
    return _page(request, "handover.html", "handover")
