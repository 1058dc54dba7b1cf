"""The HTML page in headless Chromium (Debian's package, driven by playwright): fill the form, read the answer."""

from __future__ import annotations

import re

import pytest

from tests.support.browser import fill, needs_chromium
from tests.support.serving import RECORD

pytestmark = [pytest.mark.slow, needs_chromium]


@pytest.fixture
def page(server, browser):
    page = browser.new_page()
    page.goto(server.url)
    return page


def test_the_form_predicts_and_the_table_shows_it(page):
    from playwright.sync_api import expect

    fill(page, RECORD)

    expect(page.locator("#result")).to_have_text(re.compile(r"^\$[\d,]+$"))
    expect(page.locator("#recent tr").first).to_contain_text("NEAR BAY")


def test_the_form_shows_which_field_is_wrong(page):
    from playwright.sync_api import expect

    fill(page, {**RECORD, "latitude": 48})

    expect(page.locator("#result")).to_contain_text("latitude")
