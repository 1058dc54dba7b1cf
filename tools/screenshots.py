"""Screenshots of the dashboard's pages from a running server, for the manual (docs/dashboard/).

    python -m tools.screenshots http://127.0.0.1:8000 docs/dashboard [--token ADMIN_TOKEN]

Each page is opened in headless Chromium (Debian's, as the browser tests use), given time to draw
its first load, and saved full-page as <page>.png. With --token the Retrain page shows the retrain
command's last record too.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from serve.dashboard.pages import PAGES
from tests.support.browser import FILLED, UNFILLED, chromium

SETTLE_MS = 1500
"""Plotly animates its first draw; a screenshot waits this long after the page is filled."""


def take(url: str, folder: Path, token: str | None) -> list[Path]:
    from playwright.sync_api import expect

    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        for name in PAGES:
            page.goto(f"{url}/dashboard/{name}")
            expect(page.locator(FILLED[name])).not_to_have_text(UNFILLED, timeout=60_000)
            if name == "retrain" and token:
                page.fill("#token", token)
                page.click("#check")
                expect(page.locator("#running")).not_to_have_text(UNFILLED)
            page.wait_for_timeout(SETTLE_MS)
            saved.append(folder / f"{name}.png")
            page.screenshot(path=saved[-1], full_page=True)
    return saved


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--token", help="SERVE_ADMIN_TOKEN, for the Retrain page's status")
    args = parser.parse_args()
    for path in take(args.url.rstrip("/"), args.folder, args.token):
        print(path)
