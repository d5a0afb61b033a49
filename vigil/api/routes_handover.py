"""The shift handover: what the next shift takes over, by camera, with a written summary."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from reports.backends import build_generator
from reports.evidence import CameraInfo, Evidence
from reports.handover import MAX_FACTS, HandoverFact, HandoverSummary, write_handover
from storage.repo_handover import Handover, HandoverItem
from vigil.api.deps import State, Viewer
from vigil.api.schemas import IncidentOut, _Out, iso
from vigil.config import VigilConfig

router = APIRouter(prefix="/api", tags=["handover"])

#: How far back ``since`` reaches when not given.
DEFAULT_WINDOW = timedelta(hours=12)
_WRITER_LOCK = threading.Lock()


class NoteOut(_Out):
    """An operator's note from the audit trail."""

    at: datetime
    actor: str
    action: str
    note: str


class HandoverIncidentOut(IncidentOut):
    """An incident of the handover with its notes."""

    resolved_at: datetime | None
    notes: list[NoteOut]


class CameraHandoverOut(_Out):
    """One camera's part of the handover."""

    camera_id: str
    camera_name: str
    open: list[HandoverIncidentOut]
    resolved: list[HandoverIncidentOut]


class SummaryOut(_Out):
    """The summary text; ``backend`` says who wrote it (``template`` when it fell back)."""

    text: str
    backend: str
    model: str | None
    fallback_used: bool
    fallback_reason: str | None


class HandoverOut(_Out):
    """Open incidents and those resolved since ``since``, by camera, and a summary."""

    since: datetime
    until: datetime
    open_count: int
    resolved_count: int
    truncated: bool
    cameras: list[CameraHandoverOut]
    summary: SummaryOut


def _item_out(item: HandoverItem) -> HandoverIncidentOut:
    base = IncidentOut.of(item.incident, item.workflow)
    notes = [
        NoteOut(at=iso(e.ts_s) or datetime.now(UTC), actor=e.actor, action=e.action, note=e.note)
        for e in item.notes
        if e.note is not None
    ]
    return HandoverIncidentOut(
        **base.model_dump(), resolved_at=iso(item.resolved_ts_s), notes=notes
    )


def _by_camera(h: Handover) -> list[CameraHandoverOut]:
    cams: dict[str, CameraHandoverOut] = {}
    for part, items in (("open", h.open), ("resolved", h.resolved)):
        for item in items:
            rec = item.incident
            cam = cams.get(rec.camera_id)
            if cam is None:
                cam = cams[rec.camera_id] = CameraHandoverOut(
                    camera_id=rec.camera_id, camera_name=rec.camera_name, open=[], resolved=[]
                )
            getattr(cam, part).append(_item_out(item))
    return [cams[k] for k in sorted(cams)]


def _fact(item: HandoverItem, config: VigilConfig) -> HandoverFact:
    rec = item.incident
    evidence = Evidence(
        incident_id=rec.incident_id,
        version=rec.version,
        site=config.site,
        timezone=config.timezone,
        camera=CameraInfo(camera_id=rec.camera_id, name=rec.camera_name),
        zone=rec.zone,
        event_type=rec.event_type,
        status="open" if rec.is_open else "closed",
        opened_ts_s=rec.opened_ts_s,
        closed_ts_s=rec.closed_ts_s,
        last_ts_s=rec.last_ts_s,
        duration_s=rec.duration_s,
        peak_score=min(1.0, max(0.0, rec.peak_score)),
        mean_score=min(1.0, max(0.0, rec.mean_score)),
        close_reason=rec.close_reason,
    )
    disposition = item.workflow.disposition
    return HandoverFact(
        evidence, item.workflow.state.value, None if disposition is None else disposition.value
    )


def _writer(request: Request, config: VigilConfig) -> Any:
    """The report backend that writes summaries, built once per app (tests may set it)."""
    app_state = request.app.state
    with _WRITER_LOCK:
        if not hasattr(app_state, "handover_writer"):
            app_state.handover_writer = build_generator(config.reports)
        return app_state.handover_writer


def _summary(request: Request, h: Handover, config: VigilConfig) -> HandoverSummary:
    facts = [_fact(i, config) for i in (*h.open, *h.resolved)[:MAX_FACTS]]
    return write_handover(
        facts,
        _writer(request, config),
        open_count=len(h.open),
        resolved_count=len(h.resolved),
    )


@router.get("/handover", response_model=HandoverOut)
def get_handover(
    request: Request,
    principal: Viewer,
    state: State,
    since: Annotated[
        datetime | None,
        Query(description="Resolved at or after (ISO 8601); default 12 hours ago."),
    ] = None,
) -> HandoverOut:
    """Open incidents and those resolved since ``since``, with notes, by camera, summarised."""
    until = datetime.fromtimestamp(state.ops.now_s(), UTC)
    since = until - DEFAULT_WINDOW if since is None else since
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    h = state.ops.handover(since_ts_s=since.timestamp(), cameras=principal.cameras)
    s = _summary(request, h, state.config)
    return HandoverOut(
        since=since,
        until=until,
        open_count=len(h.open),
        resolved_count=len(h.resolved),
        truncated=h.truncated,
        cameras=_by_camera(h),
        summary=SummaryOut(
            text=s.text,
            backend=s.backend,
            model=s.model,
            fallback_used=s.fallback_used,
            fallback_reason=s.fallback_reason,
        ),
    )
