"""``GET /api/cameras/{id}/snapshot``: the newest frame of a watched camera as a JPEG."""

from __future__ import annotations

import cv2
from fastapi import APIRouter, HTTPException, Response, status

from vigil.api.deps import State, Viewer, check_camera

router = APIRouter(prefix="/api", tags=["cameras"])

#: JPEG quality of snapshots (0-100).
JPEG_QUALITY = 85


@router.get(
    "/cameras/{camera_id}/snapshot",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "The newest frame."},
        404: {"description": "No such camera (or not one of yours)."},
        503: {"description": "No frame yet, or the pipeline does not run in this process."},
    },
)
def snapshot(camera_id: str, state: State, principal: Viewer) -> Response:
    """The newest frame the pipeline processed of ``camera_id``, as a JPEG."""
    check_camera(principal, camera_id)
    app = state.app
    watched = app is not None and app.watches(camera_id)
    if not watched and camera_id not in {cid for cid, _name, _url in state.ops.cameras()}:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no camera {camera_id!r}")
    if app is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="the pipeline does not run in this process (vigil serve): no live frames",
        )
    frame = app.latest_frame(camera_id) if watched else None
    if frame is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"no frame of camera {camera_id!r} yet",
            headers={"Retry-After": "2"},
        )
    ok, jpeg = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, detail="cannot encode JPEG")
    return Response(jpeg.tobytes(), media_type="image/jpeg", headers={"Cache-Control": "no-store"})
