"""History search over reports: full text, meaning (MiniLM embeddings), or both."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status

from storage.records import IncidentFilter
from storage.repo_browse import BrowseQuery
from storage.search import Embedder, SearchHit
from vigil.api.deps import Principal, State, Viewer
from vigil.api.routes_incidents import Severity, StateQ, Zone, _ts
from vigil.api.schemas import NO_NUL, IncidentOut, _Out
from vigil.api.state import ApiState

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["search"])

#: How many hits are read before the caller's cameras are applied, per hit asked for.
SCOPE_OVERFETCH = 5


class SearchHitOut(_Out):
    """One incident found, through its best-matching report."""

    incident_id: str
    camera_id: str
    event_type: str
    score: float
    title: str
    snippet: str
    incident: IncidentOut | None = None  # as the incident list shows it


def embedder_of(state: ApiState) -> Embedder:
    """The service's embedder (MiniLM, loaded on first use); 422 if it is not installed."""
    if state.embedder is None:
        try:
            import sentence_transformers  # noqa: F401  (the search extra)
        except ImportError:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                detail="semantic search needs the 'search' extra (pip install 'vigil[search]')",
            ) from None
        from storage.search import MiniLMEmbedder

        state.embedder = MiniLMEmbedder()
    embedder: Embedder = state.embedder
    return embedder


@router.get("/search", response_model=list[SearchHitOut])
def search(
    principal: Viewer,
    state: State,
    q: Annotated[str, Query(min_length=1, max_length=500, pattern=NO_NUL)],
    mode: Annotated[Literal["text", "semantic", "hybrid"], Query()] = "hybrid",
    camera: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    event_type: Annotated[str | None, Query(alias="type", max_length=32, pattern=NO_NUL)] = None,
    status_: Annotated[str | None, Query(alias="status", max_length=16, pattern=NO_NUL)] = None,
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
    workflow: StateQ = None,
    severity: Severity = None,
    zone: Zone = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[SearchHitOut]:
    """Incidents whose reports match ``q``, best first, only the caller's cameras.

    ``text``: words (stemmed), ``semantic``: meaning ("person lying on the floor" finds
    falls), ``hybrid``: both, fused by rank. Reports are embedded in the background. Each
    hit carries its incident as the list shows it; ``workflow``, ``severity`` and ``zone``
    filter the hits like the list's filters (of the best hits read, so a page may be short).
    """
    if camera is not None and not principal.can_see(camera):
        return []
    flt = IncidentFilter(
        camera=camera,
        event_type=event_type,
        status=status_,
        since_ts_s=_ts(since),
        until_ts_s=_ts(until),
    )
    embedder = None if mode == "text" else embedder_of(state)
    narrowed = workflow is not None or severity is not None or zone is not None
    fetch = limit if principal.cameras is None and not narrowed else limit * SCOPE_OVERFETCH
    try:
        hits: list[SearchHit] = state.ops.store.search_reports(
            q, mode=mode, where=flt, limit=fetch, embedder=embedder
        )
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from None
    shown = [h for h in hits if principal.can_see(h.camera_id)]
    rows = _incidents(state, principal, [h.incident_id for h in shown], workflow, severity, zone)
    if narrowed:
        shown = [h for h in shown if h.incident_id in rows]
    return [
        SearchHitOut(
            incident_id=h.incident_id,
            camera_id=h.camera_id,
            event_type=h.event_type,
            score=h.score,
            title=h.title,
            snippet=h.snippet,
            incident=rows.get(h.incident_id),
        )
        for h in shown[:limit]
    ]


def _incidents(
    state: ApiState,
    principal: Principal,
    ids: list[str],
    workflow: StateQ,
    severity: Severity,
    zone: Zone,
) -> dict[str, IncidentOut]:
    """The incidents ``ids`` as the list shows them, those the filters keep."""
    if not ids:
        return {}
    q = BrowseQuery(
        cameras=principal.cameras,
        workflow_state=None if workflow is None else workflow.value,
        severity=severity,
        zone=zone,
        limit=len(ids),
        ids=ids,
    )
    page, _next = state.ops.browse(q)
    return {rec.incident_id: IncidentOut.of(rec, view) for rec, view in page}
