"""Logging in and out through the console's form, in a real browser."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from browser_kit import check_axe, screenshot
from console_kit import PASSWORD, Stack
from playwright.sync_api import expect


def test_the_login_form_refuses_a_wrong_password_then_logs_in_and_out(
    page_as: Callable[..., Any], stack: Stack
) -> None:
    page = page_as(None)
    page.goto(stack.url("/"))
    expect(page).to_have_url(re.compile(r"/login"))  # no session: sent to the form
    expect(page.get_by_label("User name")).to_be_focused()
    screenshot(page, "login")
    check_axe(page, "login")

    page.get_by_label("User name").fill(stack.users["operator"])
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text(re.compile(r"wrong", re.I))
    expect(page).to_have_url(re.compile(r"/login"))

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(stack.url("/"))
    expect(page.get_by_role("heading", name="Live alerts")).to_be_visible()
    expect(page.get_by_role("banner")).to_contain_text(stack.users["operator"])

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto(stack.url("/"))
    expect(page).to_have_url(re.compile(r"/login"))  # the session is gone
    assert page.context.request.get(stack.url("/api/auth/me")).status == 401
