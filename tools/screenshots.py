"""Screenshots of the dashboard's pages from a running server, for the manual (docs/dashboard/).

    python -m tools.screenshots http://127.0.0.1:8000 docs/dashboard [--token ADMIN_TOKEN]

Each page is opened in headless Chromium (Debian's, as the browser tests use), given time to draw
its first load, and saved full-page as <page>.png; the pages in PHONE_PAGES again at a phone's size as
<page>-phone.png. With --token the Retrain page shows the retrain command's state and last record too.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from serve.dashboard.pages import PAGES
from tests.support.browser import FILLED, UNFILLED, chromium

if TYPE_CHECKING:
    from playwright.sync_api import Page

SETTLE_MS = 1500
"""Plotly animates its first draw; a screenshot waits this long after the page is filled."""
DESKTOP = {"viewport": {"width": 1400, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
PHONE_PAGES = ("live", "system")


def take(url: str, folder: Path, token: str | None) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    with chromium() as browser:
        for device, names, suffix in ((DESKTOP, PAGES, ""), (PHONE, PHONE_PAGES, "-phone")):
            page = browser.new_page(**device)
            for name in names:
                saved.append(folder / f"{name}{suffix}.png")
                shoot(page, f"{url}/dashboard/{name}", name, token, saved[-1])
            page.close()
    return saved


def shoot(page: Page, url: str, name: str, token: str | None, path: Path) -> None:
    from playwright.sync_api import expect

    page.goto(url)
    expect(page.locator(FILLED[name])).not_to_have_text(UNFILLED, timeout=60_000)
    if name == "retrain" and token:
        page.fill("#token", token)
        page.dispatch_event("#token", "change")
        expect(page.locator("#no-token")).to_be_hidden()
    page.wait_for_timeout(SETTLE_MS)
    page.screenshot(path=path, full_page=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--token", help="SERVE_ADMIN_TOKEN, for the Retrain page's status")
    args = parser.parse_args()
    for path in take(args.url.rstrip("/"), args.folder, args.token):
        print(path)
