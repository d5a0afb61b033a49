"""The browser side of the console tests: Debian's Chromium driven by Playwright (sync API),
screenshots checked for being more than a blank page, and axe-core accessibility checks.

Nothing here downloads a browser: Playwright runs ``/usr/bin/chromium`` (``make browser-deps``
installs it). Without it the tests skip, unless ``VIGIL_REQUIRE_BROWSER`` is set (``make test``
sets it), when they fail. Artifacts go to ``test-artifacts/console/``: ``<name>.png`` and
``axe-<page>.json`` (axe's full results).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageStat

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts" / "console"
#: Set (to anything but empty) where a missing browser must fail the tests, not skip them.
REQUIRE_ENV = "VIGIL_REQUIRE_BROWSER"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: The operator's desk (1366×768) and a wall screen (1920×1080, read from further away).
DESK = {"width": 1366, "height": 768}
WALL = {"width": 1920, "height": 1080}
#: The browser's default font size (px) of "large type": 150 % of the usual 16.
LARGE_TYPE_PX = 24
#: axe impacts that fail a test (minor and moderate ones are reported only).
FAILING_IMPACTS = ("serious", "critical")


def browser_missing_reason() -> str | None:
    """Why the browser tests cannot run here (None: they can)."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (make browser-deps installs Debian's chromium)"
    return None


def require_browser() -> None:
    """Skip (or fail, under ``VIGIL_REQUIRE_BROWSER``) when Chromium is missing."""
    reason = browser_missing_reason()
    if reason is None:
        return
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{REQUIRE_ENV} is set but {reason}")
    pytest.skip(f"browser tests skipped: {reason}")


def launch(playwright: Any) -> Any:
    """Debian's Chromium, headless."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )


def set_large_type(page: Any, px: int = LARGE_TYPE_PX) -> None:
    """Set the browser's default font size as a person with large type does (Chromium's
    font-size setting, through the DevTools protocol); pages sized in rem/em follow it."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Page.enable")
    cdp.send("Page.setFontSizes", {"fontSizes": {"standard": px, "fixed": px - 3}})


# -- screenshots ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageCheck:
    """What makes a screenshot more than a blank page."""

    colours: int  # distinct colours
    dominant: float  # share of the pixels of the most common colour
    stddev: float  # of the grey levels

    def problems(self) -> list[str]:
        """Why it looks blank (empty: it does not)."""
        found = []
        if self.colours < 64:
            found.append(f"only {self.colours} distinct colours")
        if self.dominant > 0.99:
            found.append(f"{self.dominant:.1%} of the pixels are one colour")
        if self.stddev < 5.0:
            found.append(f"grey-level std {self.stddev:.1f}")
        return found


def image_check(path: Path) -> ImageCheck:
    """Measure a PNG."""
    with Image.open(path) as im:
        rgb = im.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 24) or []
        top = max(colours)[0] if colours else 0
        std = ImageStat.Stat(rgb.convert("L")).stddev[0]
        return ImageCheck(len(colours), top / (rgb.width * rgb.height), std)


def screenshot(page: Any, name: str, *, full_page: bool = False) -> Path:
    """Write ``test-artifacts/console/<name>.png`` of ``page`` and fail if it looks blank."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    check = image_check(path)
    assert not check.problems(), f"{path} looks blank: {', '.join(check.problems())}"
    return path


# -- accessibility (axe-core) ---------------------------------------------------------------

#: Every page axe checked in this session: (page name, URL, its results).
AXE_FINDINGS: list[tuple[str, str, dict[str, Any]]] = []


def axe_script() -> str:
    """axe-core's script as the ``axe-playwright-python`` package ships it."""
    return resources.files("axe_playwright_python").joinpath("axe.min.js").read_text("utf-8")


def run_axe(page: Any, name: str) -> dict[str, Any]:
    """Run axe-core on ``page``; its full results go to ``axe-<name>.json``."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_script())
    results: dict[str, Any] = page.evaluate("axe.run(document)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    AXE_FINDINGS.append((name, page.url, results))
    return results


def describe(violations: list[dict[str, Any]]) -> str:
    """Violations one a line: impact, rule, what it asks, and where (first targets)."""
    lines = []
    for v in violations:
        targets = [" ".join(map(str, n["target"])) for n in v["nodes"]]
        where = "; ".join(targets[:4]) + (f" (+{len(targets) - 4})" if len(targets) > 4 else "")
        lines.append(f"  {v['impact'] or '?':8} {v['id']}: {v['help']} — {where}")
    return "\n".join(lines)


def check_axe(page: Any, name: str) -> dict[str, Any]:
    """Run axe on ``page`` and fail on serious or critical violations (all are printed)."""
    results = run_axe(page, name)
    violations = results["violations"]
    if violations:
        print(f"axe on {name} ({page.url}):\n{describe(violations)}")
    bad = [v for v in violations if v["impact"] in FAILING_IMPACTS]
    assert not bad, f"axe: serious/critical violations on {name}:\n{describe(bad)}"
    return results


def axe_summary() -> list[str]:
    """Lines for the end of the test run: what axe found on each page it checked, violations
    and the checks it could not decide (``incomplete``: for a person to review)."""
    lines = []
    for name, url, results in AXE_FINDINGS:
        violations, unsure = results["violations"], results["incomplete"]
        head = f"{name} ({url}): {len(violations)} violation(s), {len(unsure)} to review"
        lines.append(head + (":\n" + describe(violations) if violations else ""))
        if unsure:
            lines.append("  to review:\n" + describe(unsure))
    return lines
