"""Helpers of the reports tests: incidents, evidence, a chat-completions server."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

from detectors.types import IncidentUpdate, ScorePoint, UpdateKind
from reports.evidence import CameraInfo, Evidence, build_evidence

TZ = "Europe/Berlin"
#: 2026-11-25 14:03:07 in Berlin (UTC+01:00).
T0 = datetime(2026, 11, 25, 14, 3, 7, tzinfo=ZoneInfo(TZ)).timestamp()

FALL_CUES = {
    "fall_height_drop_ratio": 0.6,
    "fall_drop_duration_s": 0.8,
    "fall_still_s": 12.0,
    "fall_aspect_ratio": 2.1,
}
FIRE_CUES = {"fire_area_ratio": 0.12, "fire_growth_ratio": 3.0, "fire_flicker": 0.7}

DOCK = CameraInfo(camera_id="dock-1", name="Loading Dock 1", location="north wall")


def make_update(
    *,
    event_type: str = "fall",
    closed: bool = True,
    duration_s: float = 14.0,
    zone: str | None = "restricted",
    peak: float = 0.87,
    mean: float = 0.74,
    cues: Mapping[str, float] | None = None,
    opened_ts_s: float = T0,
    camera_id: str = "dock-1",
    version: int = 3,
) -> IncidentUpdate:
    """An incident update with a rising score timeline."""
    if cues is None:
        cues = FALL_CUES if event_type == "fall" else FIRE_CUES if event_type == "fire" else {}
    end = opened_ts_s + duration_s
    n = max(2, int(duration_s * 2))
    timeline = tuple(
        ScorePoint(opened_ts_s + i * duration_s / (n - 1), mean + (peak - mean) * i / (n - 1))
        for i in range(n)
    )
    return IncidentUpdate(
        incident_id="inc-42",
        version=version,
        kind=UpdateKind.CLOSE if closed else UpdateKind.UPDATE,
        camera_id=camera_id,
        event_type=event_type,
        ts_s=end,
        opened_ts_s=opened_ts_s,
        closed_ts_s=end if closed else None,
        score=peak,
        peak_score=peak,
        mean_score=mean,
        zone=zone,
        cues=dict(cues),
        timeline=timeline,
        close_reason="score fell" if closed else None,
    )


def make_evidence(
    *, camera: CameraInfo = DOCK, timezone: str = TZ, keyframes: tuple[str, ...] = (), **kw: Any
) -> Evidence:
    """Evidence for :func:`make_update` with the given overrides."""
    return build_evidence(
        make_update(**kw),
        camera=camera,
        site="warehouse-7",
        timezone=timezone,
        keyframes=keyframes or ("media/inc-42/kf-0.jpg",),
    )


# --- a small OpenAI-compatible chat-completions server on 127.0.0.1 -----------------------------


@dataclass
class Reply:
    """What the test server answers to one request."""

    status: int = 200
    body: bytes = b""
    delay_s: float = 0.0
    content_type: str = "application/json"


def completion(content: str, finish_reason: str = "stop") -> Reply:
    """A chat-completions answer whose message content is ``content``."""
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": "test-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
            }
        ],
    }
    return Reply(body=json.dumps(body).encode())


class ChatServer:
    """A threaded HTTP server speaking ``POST /v1/chat/completions``.

    ``respond`` (settable) maps the request's JSON to a :class:`Reply`; requests are recorded
    with their headers. ``release`` ends every delay at once (used at teardown).
    """

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.respond: Callable[[dict[str, Any]], Reply] = lambda _req: completion("{}")
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                payload = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append((dict(self.headers), payload))
                if self.path != "/v1/chat/completions":
                    reply = Reply(status=404, body=b'{"error": "not found"}')
                else:
                    reply = server.respond(payload)
                if reply.delay_s:
                    server.release.wait(reply.delay_s)
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        """End delays, stop serving and close the socket."""
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


def free_port() -> int:
    """A port on 127.0.0.1 with nothing listening (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
