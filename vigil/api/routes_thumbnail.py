"""``GET /api/incidents/{id}/thumbnail``: a small JPEG of an incident's keyframe for lists."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np
from fastapi import APIRouter, HTTPException, Response, status

from storage.records import MediaRef
from vigil.api.deps import IncidentId, State, Viewer

router = APIRouter(prefix="/api", tags=["incidents"])

#: Width of a thumbnail in pixels (the height keeps the keyframe's aspect ratio).
THUMB_WIDTH = 160
#: JPEG quality of thumbnails (0-100).
THUMB_QUALITY = 80
#: Keyframe kinds a thumbnail is made from, preferred first.
KINDS = ("keyframe:annotated", "keyframe:onset")


class ThumbCache:
    """The newest thumbnails in memory, keyed by file, size and modification time."""

    def __init__(self, capacity: int = 512) -> None:
        """Keep at most ``capacity`` thumbnails (about 5 KiB each)."""
        self.capacity = capacity
        self._items: OrderedDict[tuple[str, int, int], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int, int]) -> bytes | None:
        """The cached bytes of ``key`` (now the most recently used), or None."""
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
            return data

    def put(self, key: tuple[str, int, int], data: bytes) -> None:
        """Keep ``data``; the least recently used entry goes when full."""
        with self._lock:
            self._items[key] = data
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        """How many thumbnails are kept."""
        return len(self._items)


#: The thumbnails of this process (files are never rewritten in place: the key is stable).
CACHE = ThumbCache()


def _keyframe(media: list[tuple[int, MediaRef]]) -> int | None:
    """The id of the keyframe a thumbnail shows: annotated first, then the clean onset, then any."""
    frames = [(i, m) for i, m in media if m.kind.startswith("keyframe:")]
    for kind in KINDS:
        found = next((i for i, m in frames if m.kind == kind), None)
        if found is not None:
            return found
    return frames[0][0] if frames else None


def thumbnail_bytes(path: Path, width: int = THUMB_WIDTH) -> bytes | None:
    """``path``'s image scaled to ``width`` pixels wide as JPEG; None when it cannot be read."""
    image = cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        return None
    h, w = image.shape[:2]
    if w > width:
        image = cv2.resize(
            image, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA
        )
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, THUMB_QUALITY])
    return jpeg.tobytes() if ok else None


@router.get(
    "/incidents/{incident_id}/thumbnail",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "A small JPEG of the keyframe."},
        404: {"description": "No such incident (or not one of yours), or no keyframe."},
    },
)
def thumbnail(incident_id: IncidentId, principal: Viewer, state: State) -> Response:
    """The incident's keyframe (annotated, else clean) as a JPEG 160 pixels wide."""
    # the keyframe's row names its camera: two small reads, not the whole incident
    media_id = _keyframe(state.ops.media_ids(incident_id))
    found = None if media_id is None else state.ops.media(media_id)
    if found is None or not principal.can_see(found[1]):
        # the same answer for no incident, no keyframe and another camera's incident
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no keyframe of {incident_id!r}")
    root = state.media_dir.resolve()
    path = (root / found[0].path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="the keyframe is not on disk")
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    data = CACHE.get(key)
    if data is None:
        data = thumbnail_bytes(path)
        if data is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail="the keyframe cannot be read")
        CACHE.put(key, data)
    return Response(
        data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=300"}
    )
