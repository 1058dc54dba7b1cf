"""The HTML page in headless Chromium (Debian's package, driven by playwright): fill the form, read the answer."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator

import pytest

from bench.screenshots import CHROMIUM_ARGS
from tests.serve.conftest import RECORD

CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed: run `make browser`"),
]


@pytest.fixture
def page(server) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(server.url)
        yield page
        browser.close()


def fill(page, record: dict) -> None:
    for name, value in record.items():
        if name == "ocean_proximity":
            page.select_option(f"#{name}", value)
        else:
            page.fill(f"#{name}", str(value))
    page.click("button[type=submit]")


def test_the_form_predicts_and_the_table_shows_it(page):
    from playwright.sync_api import expect

    fill(page, RECORD)

    expect(page.locator("#result")).to_have_text(re.compile(r"^\$[\d,]+$"))
    expect(page.locator("#recent tr").first).to_contain_text("NEAR BAY")


def test_the_form_shows_which_field_is_wrong(page):
    from playwright.sync_api import expect

    fill(page, {**RECORD, "latitude": 48})

    expect(page.locator("#result")).to_contain_text("latitude")
