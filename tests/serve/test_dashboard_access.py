"""The dashboard's states, phones, accessibility and delivery, in headless Chromium against the real
gunicorn server: a refused History filter clears the rows, marks its field and disables the export,
and a good one restores them; the filters live in the address; a phone gets a one-column page with
body text of at least 14 px and no sideways scrolling; a server with no champion says so (and what
to run) instead of drawing empty axes, and drops the notice without a reload once one is registered;
once the server is gone the banner says the API is unreachable and when it last answered; every
control has an accessible name; plotly.min.js comes once per page, deferred, gzipped and cached for
a year, and so do the pages' own files."""

from __future__ import annotations

import gzip
import re
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlparse

import pytest
import requests

from serve.dashboard.pages import PAGES, PLOTLY_JS, PLOTLY_VERSION, STATIC
from tests.support.browser import FILLED, UNFILLED, needs_chromium, watched
from tests.support.processes import eventually
from tests.support.serving import RECORD, register_version, start_server
from tests.support.tracking import fresh_store

pytestmark = [pytest.mark.slow, needs_chromium]

EVERY_PAGE = [f"/dashboard/{name}" for name in PAGES] + ["/"]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True}
YEAR = "max-age=31536000"
TICKS_UNDER_TITLES = """() => [...document.querySelectorAll(".js-plotly-plot")].flatMap((plot) => {
  // The time axis' tick labels that reach into its title (Plotly turns them upright on a narrow plot).
  const title = plot.querySelector(".xtitle");
  if (!title) return [];
  const top = title.getBoundingClientRect().top;
  return [...plot.querySelectorAll(".xtick text")]
    .filter((tick) => tick.getBoundingClientRect().bottom > top + 1)
    .map((tick) => `${plot.id}: ${tick.textContent}`);
})"""
SMALLEST_TEXT = """() => {
  // The smallest font of any element that shows text of its own, outside the charts' SVG.
  const sizes = [...document.querySelectorAll("body *")]
    .filter((element) => !element.closest("svg") && element.checkVisibility())
    .filter((element) => [...element.childNodes].some((node) => node.nodeType === 3 && node.textContent.trim()))
    .map((element) => [parseFloat(getComputedStyle(element).fontSize), element.tagName + "." + element.className]);
  return sizes.reduce((least, size) => (size[0] < least[0] ? size : least), [Infinity, ""]);
}"""


def unexpected(errors: list[str]) -> list[str]:
    """The console errors left once the refused filters' 422 answers (expected; Chromium logs each) are set aside."""
    return [error for error in errors if "responded with a status of 422" not in error]


def no_ticks_under_titles(page) -> bool:
    """Whether the time axes' tick labels clear their titles, once Plotly's margins settle (it redraws to fit them)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(f"() => ({TICKS_UNDER_TITLES})().length === 0", timeout=10_000)
    except PlaywrightTimeout:
        return False
    return True


def logged_prefix(server, inland: int, bay: int) -> str:
    """Log `inland` INLAND and `bay` NEAR BAY predictions under a new request id prefix, and return it."""
    prefix = f"access-{uuid.uuid4().hex[:12]}"
    for suffix, record, count in (("inland", {**RECORD, "ocean_proximity": "INLAND"}, inland), ("bay", RECORD, bay)):
        if not count:
            continue
        answer = requests.post(
            f"{server.url}/predict", json=[record] * count, headers={"X-Request-ID": f"{prefix}-{suffix}"}, timeout=30
        )
        assert answer.status_code == 200, answer.text

    def logged() -> bool:
        page = requests.get(f"{server.url}/predictions", params={"request_id": prefix}, timeout=30).json()
        return page["total"] == inland + bay

    assert eventually(logged), "the log writes off the request path"
    return prefix


def test_a_refused_filter_clears_the_rows_marks_its_field_and_disables_the_export_until_a_good_one(
    server, browser_page
):
    from playwright.sync_api import expect

    prefix = logged_prefix(server, inland=2, bay=1)
    browser_page.goto(f"{server.url}/dashboard/history?request_id={prefix}")
    expect(browser_page.locator("#count")).to_have_text("rows 1 to 3 of 3")
    max_price = browser_page.get_by_label("max price $")

    browser_page.get_by_label("min price $").fill("1")
    max_price.fill("0.5")
    browser_page.get_by_role("button", name="Apply").click()
    expect(browser_page.locator("#problem")).to_contain_text("max_price: Value error, must be at least min_price")
    expect(browser_page.locator("#rows tr")).to_have_count(0)
    expect(browser_page.locator("#count")).to_have_text("no rows: a filter is not valid (marked)")
    expect(max_price).to_have_class(re.compile(r"\binvalid\b"))
    expect(max_price).to_have_attribute("aria-invalid", "true")
    expect(browser_page.get_by_label("min price $")).not_to_have_attribute("aria-invalid", "true")
    for link in ("#export-csv", "#export-json"):
        expect(browser_page.locator(link)).not_to_have_attribute("href", re.compile("."))
        expect(browser_page.locator(link)).to_have_attribute("aria-disabled", "true")

    max_price.fill("")
    browser_page.get_by_role("button", name="Apply").click()
    expect(browser_page.locator("#count")).to_have_text("rows 1 to 3 of 3")
    expect(browser_page.locator("#rows tr")).to_have_count(3)
    expect(browser_page.locator("#problem")).to_be_hidden()
    expect(max_price).not_to_have_attribute("aria-invalid", "true")
    expect(max_price).not_to_have_class(re.compile(r"\binvalid\b"))
    export = browser_page.locator("#export-csv").get_attribute("href")
    assert parse_qs(urlparse(export).query) == {"request_id": [prefix], "min_price": ["1"], "format": ["csv"]}
    assert unexpected(browser_page.errors) == []


def test_the_filters_live_in_the_address_so_a_view_can_be_shared_and_back_and_forward_step_through_views(
    server, browser_page
):
    from playwright.sync_api import expect

    prefix = logged_prefix(server, inland=3, bay=2)
    shared = f"{server.url}/dashboard/history?request_id={prefix}&ocean_proximity=INLAND&limit=25"
    browser_page.goto(shared)
    expect(browser_page.locator("#count")).to_have_text("rows 1 to 3 of 3")
    expect(browser_page.locator("#rows tr")).to_have_count(3)
    expect(browser_page.locator("#rows")).not_to_contain_text("NEAR BAY")
    expect(browser_page.get_by_label("ocean_proximity")).to_have_value("INLAND")
    expect(browser_page.get_by_label("request id starts")).to_have_value(prefix)
    expect(browser_page.get_by_label("rows per page")).to_have_value("25")

    browser_page.get_by_label("ocean_proximity").select_option("")
    browser_page.get_by_role("button", name="Apply").click()
    expect(browser_page.locator("#count")).to_have_text("rows 1 to 5 of 5")
    assert parse_qs(urlparse(browser_page.url).query) == {"request_id": [prefix], "limit": ["25"]}

    browser_page.go_back()
    expect(browser_page.locator("#count")).to_have_text("rows 1 to 3 of 3")
    expect(browser_page.get_by_label("ocean_proximity")).to_have_value("INLAND")
    browser_page.go_forward()
    expect(browser_page.locator("#count")).to_have_text("rows 1 to 5 of 5")
    expect(browser_page.get_by_label("ocean_proximity")).to_have_value("")

    browser_page.goto(f"{server.url}/dashboard/history?request_id={prefix}&since=yesterday")
    expect(browser_page.locator("#problem")).to_contain_text("since: Value error, expected an ISO 8601 time")
    expect(browser_page.get_by_label("since (UTC)")).to_have_attribute("aria-invalid", "true")
    expect(browser_page.locator("#rows tr")).to_have_count(0)
    assert unexpected(browser_page.errors) == []


def test_the_times_are_utc_and_named_and_the_since_filter_reads_utc(server, browser):
    from playwright.sync_api import expect

    prefix = logged_prefix(server, inland=1, bay=0)
    logged = requests.get(f"{server.url}/predictions", params={"request_id": prefix}, timeout=30).json()
    created = logged["predictions"][0]["created_at"]  # ISO, UTC: 2026-12-05T01:02:03.456789+00:00
    far_from_utc = browser.new_context(timezone_id="Pacific/Auckland")
    page = far_from_utc.new_page()
    page.goto(f"{server.url}/dashboard/history?request_id={prefix}")
    expect(page.locator("#rows tr").first.locator("td").first).to_have_text(f"{created[:10]} {created[11:19]} UTC")

    page.get_by_label("since (UTC)").fill(created[:16])  # the minute it was logged in: still in
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#count")).to_have_text("rows 1 to 1 of 1")
    assert parse_qs(urlparse(page.url).query)["since"] == [f"{created[:16]}:00Z"]
    far_from_utc.close()


def test_a_phone_gets_one_column_of_legible_text_and_no_sideways_scrolling(server, browser, tmp_path: Path):
    from playwright.sync_api import expect

    logged_prefix(server, inland=1, bay=1)
    context = browser.new_context(**PHONE)
    page = context.new_page()
    for name in PAGES:
        page.goto(f"{server.url}/dashboard/{name}")
        expect(page.locator(FILLED[name])).not_to_have_text(UNFILLED)
        page.screenshot(path=tmp_path / f"{name}-phone.png", full_page=True)
        assert float(page.evaluate("() => getComputedStyle(document.body).fontSize").removesuffix("px")) >= 14
        smallest, where = page.evaluate(SMALLEST_TEXT)
        assert smallest >= 14, f"{name}: {where} is {smallest}px"
        overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name}: the page scrolls {overflow}px sideways"
        assert no_ticks_under_titles(page), f"{name}: {page.evaluate(TICKS_UNDER_TITLES)}"
        cards = page.locator(".card").all()
        if len(cards) > 1:
            lefts = {round(card.bounding_box()["x"]) for card in cards}
            assert len(lefts) == 1, f"{name}: cards side by side at {lefts}"
    page.goto(server.url)
    page.screenshot(path=tmp_path / "predict-phone.png", full_page=True)
    assert page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    assert (tmp_path / "live-phone.png").stat().st_size > 0
    context.close()


def test_every_control_on_every_page_has_an_accessible_name(server, browser_page):
    from playwright.sync_api import expect

    logged_prefix(server, inland=1, bay=1)  # so that every chart is drawn, with its mode bar's buttons
    for path in EVERY_PAGE:
        browser_page.goto(f"{server.url}{path}")
        name = path.removeprefix("/dashboard/")
        if name in FILLED:
            expect(browser_page.locator(FILLED[name])).not_to_have_text(UNFILLED)
        expect(browser_page.locator(".chart:not([hidden]):not(:has(.modebar-btn))")).to_have_count(0)
        controls = browser_page.locator("input:not([type=hidden]), select, textarea, button").all()
        assert controls, path
        for control in controls:
            expect(control).to_have_accessible_name(re.compile(r"\w"))
    browser_page.goto(f"{server.url}/dashboard/live")
    expect(browser_page.get_by_label("window")).to_have_value("30")
    browser_page.goto(f"{server.url}/dashboard/history")
    expect(browser_page.get_by_label("rows per page")).to_have_value("50")
    browser_page.goto(server.url)
    expect(browser_page.get_by_label("ocean_proximity")).to_be_visible()


def test_each_chart_has_a_text_summary_of_its_data_and_the_mode_bar_stays_off_the_title(server, browser_page):
    from playwright.sync_api import expect

    logged_prefix(server, inland=2, bay=2)
    browser_page.goto(f"{server.url}/dashboard/live")
    for chart in ("rate", "prices", "map"):
        expect(browser_page.locator(f"#{chart}-summary")).to_have_text(re.compile(r"\d.*\.$"))
        expect(browser_page.locator(f"#{chart}")).to_have_attribute("aria-describedby", f"{chart}-summary")
    expect(browser_page.locator("#rate-summary")).to_contain_text("predictions in the last 30 min")
    expect(browser_page.locator("#prices-summary")).to_contain_text("median $")
    expect(browser_page.locator("#rate .gtitle")).to_have_count(0)  # the title is the figure's caption, above the plot
    expect(browser_page.locator("#rate").locator("xpath=..").locator("figcaption")).to_have_text(
        "Predictions per minute"
    )
    expect(browser_page.locator("#rate .xtitle")).to_have_text("time (UTC)")
    expect(browser_page.locator("#updated")).to_have_text(re.compile(r"^updated [1-9]\d* s ago$"))  # it ticks
    assert browser_page.errors == []


def test_a_server_with_no_champion_explains_each_page_and_once_gone_the_banner_says_since_when(
    tmp_path: Path, migrated_store: Path, browser
):
    from playwright.sync_api import expect

    store = fresh_store(tmp_path / "store", migrated_store)
    server = start_server(tmp_path / "server", store)
    page = watched(browser.new_page())
    try:
        page.goto(f"{server.url}/dashboard/live")
        expect(page.locator("#in-window")).to_have_text("0")
        expect(page.locator("#no-model")).to_be_visible()
        expect(page.locator("#no-model")).to_contain_text("make repro")
        for chart in ("rate", "prices", "map"):
            expect(page.locator(f"#{chart}")).to_be_hidden()
            expect(page.locator(f"#{chart} .main-svg")).to_have_count(0)  # no axes drawn at all
        expect(page.locator(".chart-frame .empty").first).to_contain_text("No model is loaded")

        page.goto(f"{server.url}/dashboard/drift")
        expect(page.locator("#drift-model")).to_have_text("none loaded")
        expect(page.locator("#psi")).to_be_hidden()
        expect(page.locator("#no-features")).to_contain_text("No model is loaded")
        expect(page.locator("#problem")).to_be_hidden()

        page.goto(f"{server.url}/dashboard/history")
        expect(page.locator("#no-rows")).to_contain_text("No predictions are logged yet")
        expect(page.locator("#no-model")).to_be_visible()

        page.goto(server.url)
        expect(page.locator("#no-model")).to_contain_text("make repro")
        expect(page.locator("#no-recent")).to_contain_text("No predictions yet")

        page.goto(f"{server.url}/dashboard/system")
        expect(page.locator("#no-model")).to_be_visible()
        expect(page.locator("#count-5xx")).to_have_text("0")  # the pages' own readiness checks count as no 503s
        assert page.errors == []  # nor a failed request in the console
        register_version(store)
        expect(page.locator("#no-model")).to_be_hidden(timeout=30_000)  # with no reload
        expect(page.locator("#ready")).to_have_text("yes")

        page.goto(f"{server.url}/dashboard/live")
        expect(page.locator("#updated")).to_have_text(re.compile(r"^updated \d+ s ago$"))
        server.stop()
        expect(page.locator("#problem")).to_contain_text("the API is unreachable", timeout=15_000)
        expect(page.locator("#problem")).to_contain_text(
            re.compile(r"last good answer at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")
        )
        expect(page.locator("#updated")).to_have_class(re.compile(r"\bstale\b"))
    finally:
        page.close()
        server.stop()


def asset_urls(server) -> dict[str, str]:
    """The script and style sheet URLs a dashboard page links to, by file name."""
    html = requests.get(f"{server.url}/dashboard/live", timeout=10).text
    links = re.findall(r'(?:src|href)="(/dashboard/(?:static/[\w.]+|plotly\.min\.js)\?v=[\w.]+)"', html)
    return {urlparse(link).path.rsplit("/", 1)[1]: urljoin(server.url, link) for link in links}


def test_plotly_comes_once_per_page_deferred_gzipped_and_cached_for_a_year(server, browser_page):
    urls = asset_urls(server)
    assert set(urls) == {"plotly.min.js", "common.js", "live.js", "style.css"}
    assert parse_qs(urlparse(urls["plotly.min.js"]).query) == {"v": [PLOTLY_VERSION]}

    plotly = requests.get(urls["plotly.min.js"], headers={"Accept-Encoding": "gzip"}, stream=True, timeout=30)
    body = plotly.raw.read()
    assert plotly.headers["Content-Encoding"] == "gzip"
    assert plotly.headers["Vary"] == "Accept-Encoding"
    assert {YEAR, "immutable", "public"} <= set(plotly.headers["Cache-Control"].split(", "))
    assert gzip.decompress(body) == PLOTLY_JS.read_bytes()
    assert len(body) < PLOTLY_JS.stat().st_size / 2

    plain = requests.get(urls["plotly.min.js"], headers={"Accept-Encoding": "identity"}, timeout=30)
    assert "Content-Encoding" not in plain.headers and plain.content == PLOTLY_JS.read_bytes()
    for name in ("common.js", "live.js", "style.css"):
        sent = requests.get(urls[name], timeout=10)
        assert sent.content == (STATIC / name).read_bytes() and YEAR in sent.headers["Cache-Control"], name
    old = requests.get(f"{server.url}/dashboard/static/common.js?v=0123456789ab", timeout=10)
    assert old.headers["Cache-Control"] == "no-cache"  # an old page's URL: revalidated, never kept

    for path in EVERY_PAGE[:-1]:
        browser_page.goto(f"{server.url}{path}")
        scripts = browser_page.locator("script[src]")
        assert scripts.count() == 3 and all(script.get_attribute("defer") == "" for script in scripts.all()), path
        fetched = browser_page.evaluate(
            "() => performance.getEntriesByType('resource').filter((r) => r.name.includes('plotly.min.js')).length"
        )
        assert fetched == 1, path
    assert browser_page.errors == []


HIDE = """(hidden) => {
  Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
  document.dispatchEvent(new Event("visibilitychange"));
}"""
"""Hide or show the tab as the browser would (headless Chromium's tabs are always visible)."""


def summary_poll(request) -> bool:
    return "/predictions/summary" in request.url


def test_live_polls_while_shown_pauses_while_hidden_catches_up_when_shown_and_says_how_old_its_figures_are(
    server, browser_page
):
    """On the page's own clock (playwright's), so every step is exact: no waiting on real seconds."""
    from playwright.sync_api import expect

    polls = []
    browser_page.on("request", lambda request: summary_poll(request) and polls.append(request.url))
    browser_page.clock.install()
    browser_page.goto(f"{server.url}/dashboard/live")
    expect(browser_page.locator("#in-window")).not_to_have_text(UNFILLED)
    expect(browser_page.locator("#updated")).to_have_text("updated 0 s ago")
    assert len(polls) == 1

    with browser_page.expect_request(summary_poll):
        browser_page.clock.run_for(5_000)
    expect(browser_page.locator("#updated")).to_have_text(re.compile(r"^updated [0-5] s ago$"))

    browser_page.evaluate(HIDE, True)
    browser_page.clock.run_for(60_000)
    expect(browser_page.locator("#updated")).to_have_text(re.compile(r"^updated 6\d s ago$"))
    assert len(polls) == 2, "a hidden tab is not polled"

    with browser_page.expect_request(summary_poll):
        browser_page.evaluate(HIDE, False)  # shown again, it catches up at once
    expect(browser_page.locator("#updated")).to_have_text(re.compile(r"^updated [01] s ago$"))
    assert len(polls) == 3
    assert browser_page.errors == []
