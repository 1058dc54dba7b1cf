"""Headless Chromium, as the browser tests and the screenshots (tools/screenshots.py) drive it: Debian's
package through playwright (playwright's own browser builds are not installed); and what they both
know of the pages they open."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed: run `make browser`")

FILLED = {
    "live": "#in-window",
    "models": "#model-name",
    "history": "#count",
    "drift": "#drift-rows",
    "system": "#health",
    "retrain": "#loss-run",
}
"""An element each dashboard page fills from the API once its first load has finished."""
UNFILLED = re.compile(r"^(\u2013|\u2026)?$")
"""What those elements say before then: nothing, a dash or an ellipsis."""


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium, closed on leaving."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def watched(page: Page) -> Page:
    """`page` with its console errors and uncaught exceptions collected in `page.errors`, for a test to assert on."""
    page.errors = []  # type: ignore[attr-defined]
    page.on("console", lambda message: message.type == "error" and page.errors.append(message.text))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    return page


def fill(page: Page, record: dict) -> None:
    """Fill the prediction form (the API's HTML page, the dashboard's Live) with `record` and submit it."""
    for name, value in record.items():
        if name == "ocean_proximity":
            page.select_option(f"#{name}", value)
        else:
            page.fill(f"#{name}", str(value))
    page.click("button[type=submit]")
