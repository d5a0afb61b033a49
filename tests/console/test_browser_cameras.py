"""An admin adds a camera through the Cameras page against the real RTSP test server: probe,
save, and its card comes online without a restart."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from browser_kit import check_axe, screenshot
from console_kit import YARD, Stack
from playwright.sync_api import expect

NEW = "dock-2"


def card(page: Any, camera_id: str) -> Any:
    """The card of one camera."""
    return page.locator(f'[data-camera-id="{camera_id}"]')


def test_an_admin_adds_a_camera_with_probe_and_save_and_its_card_comes_online(
    page_as: Callable[..., Any], stack: Stack
) -> None:
    page = page_as("admin")
    page.goto(stack.url("/cameras"))
    expect(card(page, YARD).locator("[data-camera-state]")).to_have_attribute(
        "data-camera-state", "online"
    )
    screenshot(page, "cameras")
    check_axe(page, "cameras")

    page.get_by_role("button", name="Add camera").click()
    page.get_by_label("Camera id", exact=True).fill(NEW)
    page.get_by_label("Name", exact=True).fill("Dock 2")
    page.get_by_label("URL", exact=True).fill(stack.rtsp.url("/dock"))
    page.get_by_role("button", name="Probe").click()
    probe = page.get_by_role("status").filter(has_text=re.compile(r"h264|H\.264", re.I))
    expect(probe).to_contain_text(re.compile(r"320\s*[×x]\s*180"))
    check_axe(page, "cameras-add")
    page.get_by_role("button", name="Save camera").click()

    expect(card(page, NEW)).to_be_visible()
    expect(card(page, NEW).locator("[data-camera-state]")).to_have_attribute(
        "data-camera-state", "online"
    )
    expect(card(page, NEW)).to_contain_text("Dock 2")
    assert stack.app.watches(NEW), "the pipeline does not watch the new camera"
    screenshot(page, "cameras-added")
