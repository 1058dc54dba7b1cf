"""The dashboard in headless Chromium against the real gunicorn server: every page loads without a
console error, the history's filters narrow it, its export downloads exactly the filtered rows, and a
prediction made in the form appears on Live."""

from __future__ import annotations

import csv
import re
import uuid

import mlflow
import pytest
import requests

from serve.dashboard.pages import PAGES
from tests.support.browser import FILLED, UNFILLED, fill, needs_chromium
from tests.support.processes import eventually
from tests.support.serving import RECORD
from tests.support.tracking import MODEL_NAME

pytestmark = [pytest.mark.slow, needs_chromium]


def predict(server, request_id: str, records: list[dict]) -> None:
    answer = requests.post(f"{server.url}/predict", json=records, headers={"X-Request-ID": request_id}, timeout=30)
    assert answer.status_code == 200, answer.text


def logged_ids(server, **filters: str) -> list[int]:
    page = requests.get(f"{server.url}/predictions", params={"limit": 1000, **filters}, timeout=30).json()
    return sorted(row["id"] for row in page["predictions"])


def test_every_page_loads_and_draws_without_a_console_error(server, browser_page, champion_store):
    from playwright.sync_api import expect

    gate = "on 826 of 4190 test rows unseen by champion v1: test RMSE 0.3824 against 0.3869"
    mlflow.MlflowClient(champion_store).set_model_version_tag(MODEL_NAME, "1", "gate.summary", gate)
    predict(server, f"pages-{uuid.uuid4().hex}", [RECORD])
    for name in PAGES:
        browser_page.goto(f"{server.url}/dashboard/{name}")
        expect(browser_page.locator(FILLED[name])).not_to_have_text(UNFILLED)
        assert browser_page.errors == [], f"{name}: {browser_page.errors}"
    browser_page.goto(f"{server.url}/dashboard/models")
    expect(browser_page.locator("#versions")).to_contain_text(gate)
    browser_page.goto(f"{server.url}/dashboard/live")
    expect(browser_page.locator("#map .scatterlayer .trace")).to_have_count(2)


def test_a_filter_narrows_the_history_and_the_export_holds_exactly_its_rows(server, browser_page, tmp_path):
    from playwright.sync_api import expect

    prefix = f"history-{uuid.uuid4().hex[:12]}"
    predict(server, f"{prefix}-inland", [{**RECORD, "ocean_proximity": "INLAND"}] * 3)
    predict(server, f"{prefix}-bay", [RECORD] * 2)
    assert eventually(lambda: len(logged_ids(server, request_id=prefix)) == 5), "the log writes off the request path"
    expect_ids = logged_ids(server, request_id=prefix, ocean_proximity="INLAND")
    assert len(expect_ids) == 3

    browser_page.goto(f"{server.url}/dashboard/history")
    browser_page.fill("input[name=request_id]", prefix)
    browser_page.click("button[type=submit]")
    expect(browser_page.locator("#count")).to_have_text("rows 1 to 5 of 5")
    browser_page.select_option("select[name=ocean_proximity]", "INLAND")
    browser_page.click("button[type=submit]")
    expect(browser_page.locator("#count")).to_have_text("rows 1 to 3 of 3")
    expect(browser_page.locator("#rows tr")).to_have_count(3)

    with browser_page.expect_download() as download:
        browser_page.click("#export-csv")
    saved = tmp_path / "predictions.csv"
    download.value.save_as(saved)
    with saved.open() as exported:
        rows = list(csv.DictReader(exported))
    assert sorted(int(row["id"]) for row in rows) == expect_ids
    assert {row["ocean_proximity"] for row in rows} == {"INLAND"}
    assert browser_page.errors == []


def test_a_prediction_made_in_the_form_appears_on_live(server, browser_page):
    from playwright.sync_api import expect

    record = {**RECORD, "longitude": -120.77, "latitude": 38.61}
    browser_page.goto(server.url)
    fill(browser_page, record)
    expect(browser_page.locator("#result")).to_have_text(re.compile(r"^\$[\d,]+$"))
    price = browser_page.locator("#result").inner_text()

    browser_page.goto(f"{server.url}/dashboard/live")
    newest = browser_page.locator("#latest tr").first
    expect(newest).to_contain_text("-120.77, 38.61")
    expect(newest).to_contain_text(price)
    assert browser_page.errors == []
