"""Reading the live feed of a real server: a thread that parses SSE into a list."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.wait import wait_until


@dataclass
class Sse:
    """One parsed event."""

    id: int
    kind: str
    data: dict[str, Any]


@dataclass
class SseReader:
    """Reads ``GET /api/events`` in a thread until ``close``."""

    base_url: str
    headers: dict[str, Any]
    params: dict[str, str] = field(default_factory=dict)
    events: list[Sse] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    status: int | None = None
    error: BaseException | None = None

    def __post_init__(self) -> None:
        self._client = httpx.Client(base_url=self.base_url, timeout=httpx.Timeout(30.0))
        self._response: httpx.Response | None = None
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> SseReader:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            with self._client.stream(
                "GET", "/api/events", headers=self.headers, params=self.params
            ) as r:
                self._response = r
                self.status = r.status_code
                fields: dict[str, str] = {}
                for line in r.iter_lines():
                    if line.startswith(":"):
                        self.comments.append(line[1:].strip())
                    elif line == "":
                        if "id" in fields:
                            data = json.loads(fields["data"])
                            self.events.append(Sse(int(fields["id"]), fields["event"], data))
                        fields = {}
                    else:
                        name, _, value = line.partition(":")
                        fields[name] = value.removeprefix(" ")
        except BaseException as exc:  # closed from the test thread, or a real failure
            if not self._closed.is_set():
                self.error = exc

    @property
    def connected(self) -> bool:
        """True once the server's first comment arrived (the feed's start is fixed)."""
        return any(c.startswith("connected") for c in self.comments)

    def close(self) -> None:
        """Disconnect."""
        self._closed.set()
        if self._response is not None:
            # unblock the reading thread: shut the socket (closing the response would not)
            stream = self._response.extensions.get("network_stream")
            sock = None if stream is None else stream.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        self._client.close()
        self._thread.join(timeout=10)


def open_reader(url: str, headers: dict[str, Any], **params: str) -> SseReader:
    """A reader whose feed is connected (its start fixed), or the test fails."""
    r = SseReader(url, headers, dict(params)).start()
    wait_until(
        lambda: r.connected or r.error or r.status not in (None, 200), timeout_s=20, what="the feed"
    )
    assert r.error is None and r.status == 200, (r.status, r.error)
    return r


def wait_events(reader: SseReader, n: int) -> None:
    """Wait until ``reader`` holds at least ``n`` events."""
    wait_until(lambda: len(reader.events) >= n or reader.error, timeout_s=20, what=f"{n} events")
    assert reader.error is None, reader.error
