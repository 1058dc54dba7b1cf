"""The System page in headless Chromium against a real gunicorn server of its own: good and bad
requests are counted by status class and the bad ones listed with their request ids; while the server
is stopped the page says it is unreachable, greys every figure and counts the seconds since its last
good answer; a server started again on the same port brings the page back without a reload."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests

from tests.support.browser import needs_chromium
from tests.support.serving import RECORD, Server, ready_server

pytestmark = [pytest.mark.slow, needs_chromium]
STALE = re.compile(r"\bstale\b")


def send(server: Server, method: str, path: str, request_id: str, record: dict | None = None) -> int:
    headers = {"X-Request-ID": request_id}
    return requests.request(method, f"{server.url}{path}", json=record, headers=headers, timeout=30).status_code


def test_the_system_page_counts_and_lists_errors_and_survives_an_outage(tmp_path: Path, champion_store: str, browser):
    from playwright.sync_api import expect

    server = ready_server(tmp_path / "server", champion_store)
    try:
        statuses = [send(server, "POST", "/predict", f"good-{n}", RECORD) for n in range(3)]
        statuses += [send(server, "POST", "/predict", f"bad-{n}", {**RECORD, "median_income": -1}) for n in range(2)]
        statuses += [send(server, "GET", f"/no/such/page/{n}", f"missing-{n}") for n in range(2)]
        assert statuses == [200, 200, 200, 422, 422, 404, 404]

        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{server.url}/dashboard/system")
        expect(page.locator("#reachability")).to_have_text("reachable")
        expect(page.locator("#health")).to_have_text("ok")
        expect(page.locator("#count-4xx")).to_have_text("4", timeout=15_000)
        expect(page.locator("#count-5xx")).to_have_text("0")
        expect(page.locator("#p99")).to_have_text(re.compile(r"^[\d.]+ ms$"))
        expect(page.locator("#rates-chart-summary")).to_contain_text("4 4xx")
        table = page.locator("#errors")
        for request_id, status in [("bad-0", "422"), ("bad-1", "422"), ("missing-0", "404"), ("missing-1", "404")]:
            row = table.locator("tr", has_text=request_id)
            expect(row).to_contain_text(status)
        expect(table.locator("tr", has_text="bad-0")).to_contain_text("median_income")
        expect(page.locator("#alerts tr", has_text="HousingApiErrorRate")).to_contain_text("not firing")

        server.stop()
        expect(page.locator("#reachability")).to_have_text("unreachable", timeout=15_000)
        expect(page.locator("#health")).to_have_text("unreachable")
        expect(page.locator("#ready")).to_have_text("unreachable")
        expect(page.locator("#last-good")).to_have_text(re.compile(r"^last good answer \d+ s ago$"))
        for figure in ("#champion", "#count-4xx", "#p99", "#errors", "#workers"):
            expect(page.locator(figure)).to_have_class(STALE)
        expect(page.locator("#alerts tr", has_text="HousingApiDown")).to_contain_text("would fire if it lasts 1m")

        port = int(server.url.rpartition(":")[2])
        server = ready_server(tmp_path / "server", champion_store, port)
        expect(page.locator("#reachability")).to_have_text("reachable", timeout=30_000)
        expect(page.locator("#health")).to_have_text("ok")
        expect(page.locator("#last-good")).to_have_text(re.compile(r"^last good answer \d+ s ago$"))
        for figure in ("#champion", "#count-4xx", "#p99", "#errors", "#workers"):
            expect(page.locator(figure)).not_to_have_class(STALE)
        expect(page.locator("#errors tr", has_text="bad-0")).to_be_visible()
        assert errors == []
    finally:
        server.stop()
