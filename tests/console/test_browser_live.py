"""An operator's shift in a real browser: the pipeline (demo scene) raises incidents, they
appear in the live list without a reload, the operator opens one with Enter, acknowledges it
with ``a``, writes a note with ``n``, steps to the next incident and back, and resolves it as
a false alarm with ``f`` and a note, finds it in history by a word of its report and sees it
in the shift handover; back on the live list, ``?`` shows the keys, ``i`` and ``r`` investigate
and resolve the fire. One page goes through the module's tests, in order."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_kit import DESK, LARGE_TYPE_PX, WALL, check_axe, screenshot, set_large_type
from console_kit import Stack, api_login, incident
from playwright.sync_api import expect

FIRST_NOTE = "Called the aisle team, going to look"
NOTE = "Reflection on the floor, nobody fell: checked with the aisle camera"


@pytest.fixture(scope="module")
def operator(browser: Any, stack: Stack) -> Iterator[Any]:
    """The operator's page, kept across the module's tests."""
    context = browser.new_context(viewport=DESK, locale="en-GB")
    context.set_default_timeout(15_000)
    api_login(context, stack, "operator")
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="module")
def seen() -> dict[str, str]:
    """Ids found by earlier tests of this module (``fall``, ``fire``)."""
    return {}


def live_rows(page: Any) -> Any:
    """The rows of the live list."""
    return page.get_by_role("grid", name="Live alerts").locator("[data-incident-id]")


def row_of(page: Any, incident_id: str) -> Any:
    """The live list's row of one incident."""
    return page.get_by_role("grid", name="Live alerts").locator(
        f'[data-incident-id="{incident_id}"]'
    )


def focused_incident(page: Any) -> str | None:
    """The id of the incident whose row has the focus (None: no row has it)."""
    found: str | None = page.evaluate(
        "document.activeElement?.closest('[data-incident-id]')?.dataset.incidentId ?? null"
    )
    return found


def test_incidents_of_the_pipeline_appear_in_the_live_list_without_reload(
    operator: Any, stack: Stack, scene: Path, seen: dict[str, str]
) -> None:
    page = operator
    page.goto(stack.url("/"))
    expect(page.locator("#feed-state")).not_to_have_text(re.compile("Connecting"))
    expect(live_rows(page)).to_have_count(0)
    page.evaluate("window.__sameDocument = true")

    stack.add_scene(scene)  # the pipeline plays the scene: a fall, then a fire
    seen["fall"] = stack.wait_incident("fall")
    seen["fire"] = stack.wait_incident("fire")
    expect(row_of(page, seen["fall"])).to_be_visible()
    expect(row_of(page, seen["fire"])).to_be_visible()
    expect(row_of(page, seen["fall"])).to_contain_text(re.compile("fall", re.I))
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    screenshot(page, "live")
    check_axe(page, "live")


def test_enter_opens_the_focused_incident_and_a_acknowledges_it(
    operator: Any, stack: Stack, seen: dict[str, str]
) -> None:
    page = operator
    fall = seen["fall"]
    for _ in range(live_rows(page).count() + 1):  # j moves the focus down the list
        if focused_incident(page) == fall:
            break
        page.keyboard.press("j")
    assert focused_incident(page) == fall, "j never reached the fall incident"
    page.keyboard.press("Enter")
    expect(page).to_have_url(stack.url(f"/incidents/{fall}"))
    article = page.locator("#incident")
    expect(article).to_have_attribute("aria-busy", "false")
    expect(page.get_by_role("button", name="Acknowledge")).to_be_enabled()

    page.keyboard.press("a")
    expect(article).to_contain_text(re.compile("acknowledged", re.I))
    assert incident(page.context, stack, fall)["workflow"]["state"] == "acknowledged"
    screenshot(page, "incident")
    check_axe(page, "incident")


def test_n_writes_a_note_and_next_incident_leads_on_and_back(
    operator: Any, stack: Stack, seen: dict[str, str]
) -> None:
    page = operator
    fall, fire = seen["fall"], seen["fire"]
    page.keyboard.press("n")
    note = page.get_by_role("textbox", name="Note")
    expect(note).to_be_focused()
    note.fill(FIRST_NOTE)
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#history")).to_contain_text(FIRST_NOTE)
    assert FIRST_NOTE in [e["note"] for e in incident(page.context, stack, fall)["history"]]

    page.get_by_role("link", name="Next incident").click()  # the fire opened after the fall
    expect(page).to_have_url(stack.url(f"/incidents/{fire}"))
    page.get_by_role("link", name="Previous incident").click()
    expect(page).to_have_url(stack.url(f"/incidents/{fall}"))
    expect(page.locator("#incident")).to_have_attribute("aria-busy", "false")


def test_f_resolves_it_as_a_false_alarm_with_a_note_and_it_leaves_the_live_list(
    operator: Any, stack: Stack, seen: dict[str, str]
) -> None:
    page = operator
    fall = seen["fall"]
    page.keyboard.press("f")
    dialog = page.get_by_role("dialog", name="Resolve")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("False alarm")).to_be_checked()
    dialog.get_by_label("Note").fill(NOTE)
    dialog.get_by_role("button", name="Confirm resolve").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#incident")).to_contain_text(re.compile("resolved", re.I))
    expect(page.locator("#history")).to_contain_text(NOTE)
    shown = incident(page.context, stack, fall)
    assert (shown["workflow"]["state"], shown["workflow"]["disposition"]) == (
        "resolved",
        "false_alarm",
    )
    assert NOTE in [e["note"] for e in shown["history"]]

    page.keyboard.press("u")  # back to the live alerts
    expect(page).to_have_url(stack.url("/"))
    expect(row_of(page, seen["fire"])).to_be_visible()
    expect(row_of(page, fall)).to_have_count(0)


def test_history_finds_the_resolved_incident_by_a_word_of_its_report(
    operator: Any, stack: Stack, seen: dict[str, str]
) -> None:
    page = operator
    fall = seen["fall"]
    summary = incident(page.context, stack, fall)["reports"][-1]["summary"]
    assert "figure" in summary, summary  # the cues scorer's wording of a fall
    page.goto(stack.url("/history"))
    page.get_by_label("Search").fill("figure")
    page.get_by_label("Match by").select_option(label="Words")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(f'main [data-incident-id="{fall}"]').first).to_be_visible()
    expect(page.locator(f'main [data-incident-id="{seen["fire"]}"]')).to_have_count(0)
    screenshot(page, "history")
    check_axe(page, "history")

    for name, kind in (("Export CSV", "text/csv"), ("Export JSON", "application/json")):
        with page.expect_download() as got:
            page.get_by_role("link", name=name).click()
        body = Path(got.value.path()).read_text(encoding="utf-8")
        assert fall in body, f"{name}: the fall is not in the file"
        href = page.get_by_role("link", name=name).get_attribute("href")
        assert page.context.request.get(stack.url(href)).headers["content-type"].startswith(kind)


def test_the_handover_page_lists_the_shift(
    operator: Any, stack: Stack, seen: dict[str, str]
) -> None:
    page = operator
    page.goto(stack.url("/handover"))
    expect(page.locator("main")).to_contain_text(NOTE)
    screenshot(page, "handover")
    check_axe(page, "handover")


def test_the_live_list_on_a_wall_screen_with_large_text(
    browser: Any, stack: Stack, seen: dict[str, str]
) -> None:
    context = browser.new_context(viewport=WALL, locale="en-GB")
    try:
        api_login(context, stack, "viewer")
        page = context.new_page()
        page.goto(stack.url("/"))
        row = row_of(page, seen["fire"])
        expect(row).to_be_visible()
        before = font_px(row)
        toggle = page.get_by_role("button", name="Large text")
        toggle.click()
        expect(toggle).to_have_attribute("aria-pressed", "true")
        after = font_px(row)
        assert after >= 1.3 * before, f"row text {before}px, then {after}px with Large text"
        assert horizontal_overflow(page) <= 0, "the list scrolls sideways with Large text"
        screenshot(page, "live-wall-large")
        check_axe(page, "live-wall-large")
        page.reload()  # the choice is kept
        expect(page.get_by_role("button", name="Large text")).to_have_attribute(
            "aria-pressed", "true"
        )
    finally:
        context.close()


def test_the_live_list_follows_the_browsers_font_size_setting(
    browser: Any, stack: Stack, seen: dict[str, str]
) -> None:
    context = browser.new_context(viewport=WALL, locale="en-GB")
    try:
        api_login(context, stack, "viewer")
        page = context.new_page()
        set_large_type(page)  # the browser's default font size: 24 px instead of 16
        page.goto(stack.url("/"))
        row = row_of(page, seen["fire"])
        expect(row).to_be_visible()
        assert font_px(row) >= 0.9 * LARGE_TYPE_PX, f"row text {font_px(row)}px"
    finally:
        context.close()


def font_px(locator: Any) -> float:
    """The computed font size of an element, in CSS px."""
    return float(locator.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))


def horizontal_overflow(page: Any) -> float:
    """How many px the page scrolls sideways (0 or less: none)."""
    return float(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


def test_on_the_live_list_question_mark_helps_i_investigates_and_r_resolves(
    operator: Any, stack: Stack, seen: dict[str, str]
) -> None:
    page = operator
    fire = seen["fire"]
    page.goto(stack.url("/"))
    row = row_of(page, fire)
    expect(row).to_be_visible()
    page.keyboard.press("?")
    keys = page.get_by_role("dialog", name="Keyboard")
    expect(keys).to_be_visible()
    expect(keys).to_contain_text("Resolve with a disposition")
    page.keyboard.press("Escape")
    expect(keys).to_be_hidden()

    page.keyboard.press("j")  # the fire is the only alert left
    page.keyboard.press("i")
    expect(row).to_contain_text("Investigating")
    assert incident(page.context, stack, fire)["workflow"]["state"] == "investigating"

    page.keyboard.press("r")
    dialog = page.get_by_role("dialog", name="Resolve")
    expect(dialog).to_be_visible()
    dialog.get_by_label("True alarm").check()
    dialog.get_by_role("button", name="Confirm resolve").click()
    expect(dialog).to_be_hidden()
    expect(row).to_have_count(0)
    expect(page.get_by_text("No open alerts.")).to_be_visible()
    shown = incident(page.context, stack, fire)["workflow"]
    assert (shown["state"], shown["disposition"]) == ("resolved", "true_alarm")
