"""The harness itself: a missing browser skips or fails as asked, its blank-page check and its
axe check really fail, and the served stack (pipeline on the live RTSP camera, API, users)
answers a logged-in browser."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import browser_kit
import pytest
from browser_kit import ARTIFACTS, DESK, REQUIRE_ENV, check_axe, image_check, screenshot
from console_kit import YARD, Stack

from tests.support.wait import wait_until

#: A page with two critical problems for axe: an image without alt text, a nameless button.
BAD_PAGE = """<!doctype html><html lang="en"><head><title>bad</title></head><body><main>
<h1>Inaccessible</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<button></button></main></body></html>"""


def test_without_chromium_the_tests_skip_unless_a_browser_is_required(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(browser_kit, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no-chromium is missing"):
        browser_kit.require_browser()
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match=f"{REQUIRE_ENV} is set"):
        browser_kit.require_browser()


def test_a_blank_page_fails_the_screenshot_check(browser: Any) -> None:
    page = browser.new_page(viewport=DESK)
    try:
        page.set_content('<!doctype html><html lang="en"><title>empty</title></html>')
        with pytest.raises(AssertionError, match="looks blank"):
            screenshot(page, "selftest-blank")
        check = image_check(ARTIFACTS / "selftest-blank.png")
        assert check.colours == 1 and check.dominant == 1.0
    finally:
        page.close()


def test_axe_fails_on_serious_violations_and_writes_its_results(browser: Any) -> None:
    page = browser.new_page(viewport=DESK)
    try:
        page.set_content(BAD_PAGE)
        with pytest.raises(AssertionError, match=r"image-alt[\s\S]*button-name|button-name"):
            check_axe(page, "selftest-bad")
        results = json.loads((ARTIFACTS / "axe-selftest-bad.json").read_text(encoding="utf-8"))
        assert {"image-alt", "button-name"} <= {v["id"] for v in results["violations"]}
        assert results["passes"], "the full results, passes included"
    finally:
        page.close()


def test_the_served_stack_answers_a_logged_in_browser(
    page_as: Callable[..., Any], stack: Stack
) -> None:
    page = page_as("operator")
    page.goto(stack.url("/api/auth/me"))
    me = json.loads(page.inner_text("body"))
    assert (me["name"], me["role"]) == ("operator-1", "operator")

    def yard_online() -> bool:
        cams = page.context.request.get(stack.url("/api/cameras")).json()
        return any(c["id"] == YARD and c["state"] == "online" for c in cams)

    wait_until(yard_online, timeout_s=30, what="the yard camera online over RTSP")
    anonymous = page_as(None)
    assert anonymous.request.get(stack.url("/api/incidents")).status == 401
