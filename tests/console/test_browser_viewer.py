"""A viewer reads the live list and an incident but gets no action buttons or action keys."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from console_kit import YARD, Stack, incident
from playwright.sync_api import expect

ACTIONS = ("Acknowledge", "Investigate", "Resolve", "False alarm", "Add note")


def no_actions(page: Any) -> None:
    """No action button of any kind on ``page``."""
    for name in ACTIONS:
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)


def test_a_viewer_sees_incidents_but_no_action_buttons(
    page_as: Callable[..., Any], stack: Stack, scene: Path
) -> None:
    stack.add_scene(scene)
    fall = stack.wait_incident("fall")
    page = page_as("viewer")
    page.goto(stack.url("/"))
    row = page.get_by_role("grid", name="Live alerts").locator(f'[data-incident-id="{fall}"]')
    expect(row).to_be_visible()
    no_actions(page)
    page.keyboard.press("j")
    page.keyboard.press("a")  # an action key does nothing for a viewer
    assert incident(page.context, stack, fall)["workflow"]["state"] == "new"

    page.goto(stack.url(f"/incidents/{fall}"))
    article = page.locator(f'#incident[data-incident-id="{fall}"]')
    expect(article).to_have_attribute("aria-busy", "false")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Fall")
    no_actions(page)
    expect(page.get_by_role("textbox", name="Note")).to_have_count(0)
    page.keyboard.press("a")
    assert incident(page.context, stack, fall)["workflow"]["state"] == "new"


def test_a_viewer_sees_the_cameras_but_cannot_add_one(
    page_as: Callable[..., Any], stack: Stack
) -> None:
    page = page_as("viewer")
    page.goto(stack.url("/cameras"))
    expect(page.locator(f'[data-camera-id="{YARD}"] [data-camera-state]')).to_be_visible()
    expect(page.get_by_role("button", name="Add camera")).to_have_count(0)
    expect(page.get_by_role("button", name="Save camera")).to_have_count(0)
