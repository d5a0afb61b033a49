"""The onset keyframes of an incident: the clean frame and the annotated one."""

from __future__ import annotations

import datetime
import logging

from detectors.types import IncidentUpdate
from storage.annotate import Annotation, annotate
from storage.media import MediaStore
from storage.records import MediaRef
from streamer.types import Frame

log = logging.getLogger(__name__)


def save_keyframes(
    media: MediaStore,
    upd: IncidentUpdate,
    frame: Frame,
    *,
    camera_name: str,
    tz: datetime.tzinfo,
) -> list[MediaRef]:
    """Save the onset frame twice: clean, and annotated with what scored, where and when.

    A failure is logged and costs the keyframes, never the update: what was saved is returned.
    """
    saved: list[MediaRef] = []
    try:
        saved.append(media.save_keyframe(upd.incident_id, frame.image, frame.ts_s, "onset"))
        local = datetime.datetime.fromtimestamp(frame.ts_s, tz)
        note = Annotation(
            event_type=upd.event_type,
            score=upd.score,
            camera=camera_name,
            local_time=local.strftime("%Y-%m-%d %H:%M:%S %Z"),
            region=upd.region,
            zone=upd.zone,
        )
        saved.append(
            media.save_keyframe(
                upd.incident_id, annotate(frame.image, note), frame.ts_s, "annotated"
            )
        )
    except Exception as exc:
        log.warning("incident %s: keyframe not saved: %s", upd.incident_id, exc)
    return saved
