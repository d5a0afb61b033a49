"""`vigil demo` analyses the clip, prints its incidents, then serves them with a demo login."""

from __future__ import annotations

import queue
import re
import signal
import socket
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.support.cli import vigil_command, vigil_env, write_config
from tests.support.wait import wait_until


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_serves_its_incidents_behind_the_printed_login(
    tmp_path: Path, scene_clip: Callable[..., Path]
) -> None:
    port = _free_port()
    config = write_config(
        tmp_path / "demo.yaml",
        db=tmp_path / "data" / "vigil.db",
        media=tmp_path / "data" / "media",
        cameras=[{"id": "cam", "url": scene_clip("demo", 0), "fps": 2}],
    )
    with config.open("a", encoding="utf-8") as f:
        f.write(f'api: {{bind: "127.0.0.1:{port}"}}\n')
    proc = subprocess.Popen(
        [*vigil_command("demo", "-c", str(config))],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
        env=vigil_env(),
    )
    lines: queue.Queue[str] = queue.Queue()
    seen: list[str] = []
    assert proc.stdout is not None
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()  # type: ignore[union-attr]

    def login_line() -> str | None:
        while not lines.empty():
            seen.append(lines.get())
            if m := re.search(r"log in as demo / (\S+):", seen[-1]):
                return m[1]
        return None

    try:
        password = wait_until(login_line, timeout_s=240, what="the demo's login line")
        printed = int(
            next(re.findall(r"^(\d+) incident\(s\)$", x)[0] for x in seen if "incident(s)" in x)
        )
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=10) as c:
            assert c.get("/api/incidents").status_code == 401
            r = c.post("/api/auth/login", json={"username": "demo", "password": password})
            assert r.status_code == 200, r.text
            page = c.get("/api/incidents", params={"limit": 500}).json()
        assert printed >= 1
        assert len(page["items"]) == printed
        assert {i["event_type"] for i in page["items"]} <= {"fall", "fire"}
    finally:
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=30)
    assert rc == 0, "".join(seen)
