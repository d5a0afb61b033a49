"""Fixtures of the console's browser tests: one Chromium per session, one served stack (App +
API + RTSP server) per module, pages logged in per role; axe's findings at the end of the run.

``conftest.py`` imports them (fixtures and the summary hook)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_kit import DESK, axe_summary, launch, require_browser
from console_kit import Stack, api_login, start_stack

from tests.streamer.streamer_testutil import APT_LINE, RtspServer, gst_rtsp_available, live_launch

#: Upper bound of any one wait in a page (stops hangs; no test asserts a duration).
PAGE_TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, one per test module.

    Not one per session: while Playwright's sync API is open its event loop counts as running
    in the main thread, so every later test that calls ``asyncio.run`` (the Kafka publisher's)
    would fail with "cannot be called from a running event loop".
    """
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=PAGE_TIMEOUT_MS)
    with sync_playwright() as p:
        b = launch(p)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def rtsp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RtspServer]:
    """The real RTSP test server: ``/live`` (shared by clients) and ``/dock`` (another live
    camera, for the Cameras form)."""
    if not gst_rtsp_available():
        pytest.skip(f"GStreamer RTSP server not installed for /usr/bin/python3: {APT_LINE}")
    server = RtspServer(
        {"/live": live_launch(), "/dock": live_launch(width=320, height=180)},
        shared=("/live", "/dock"),
        log_path=tmp_path_factory.mktemp("rtsp") / "rtsp.log",
    )
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def stack(
    browser: Any, rtsp: RtspServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """A running App with its API on SQLite, a user per role; one per test module."""
    s = start_stack(tmp_path_factory.mktemp("stack"), rtsp)
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def page_as(browser: Any, stack: Stack) -> Iterator[Callable[..., Any]]:
    """``page_as(role, viewport=DESK)``: a new page in its own context, logged in as ``role``
    (None: not logged in). Closed after the test."""
    contexts: list[Any] = []

    def make(role: str | None, viewport: dict[str, int] | None = None) -> Any:
        context = browser.new_context(viewport=viewport or DESK, locale="en-GB")
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        contexts.append(context)
        if role is not None:
            api_login(context, stack, role)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def scene(scene_clip: Callable[..., Path]) -> Path:
    """The generated demo scene (a fall, then a fire), cached like the other tests'."""
    return scene_clip("demo", 0)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """What axe found on each page, failing or not."""
    lines = axe_summary()
    if lines:
        terminalreporter.section("axe-core findings (console)")
        for line in lines:
            terminalreporter.write_line(line)
