"""bench/dashboard_pages: what each dashboard page costs a browser to open, before and after a change.

    python -m bench.dashboard_pages --before /tmp/before-checkout   # a `git worktree add` of the old commit

Starts a real gunicorn server (two sync workers, as `make serve`) from each checkout in turn, on the
same tiny champion in a fresh MLflow store, with the same few predictions logged, and opens every
dashboard page in headless Chromium: first in a new browser context (an empty cache: a first visit),
then once more in the same context after every page was opened (a repeat visit: what the cache
saves). For each visit it records, from the page's own Performance API, the bytes that came over the
wire (transferSize, headers included; 0 for what the cache answered) and the bodies' encoded size,
plotly.min.js's share of them, the load event's time and the time until the page shows its first
figures. Each figure is the median of --rounds rounds. With --before, the result holds both checkouts
and after/before ratios. Figures are from 127.0.0.1, where bandwidth is nearly free: the byte
counts carry over to a real network, the times only in their ordering.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from bench.provenance import provenance
from tests.support.browser import FILLED, UNFILLED, chromium
from tests.support.processes import answers, eventually, free_port, start_process, stop_process
from tests.support.project import PROJECT
from tests.support.serving import ADMIN_TOKEN, RECORD, register_version
from tests.support.tracking import fresh_store

RESULT = PROJECT / "bench" / "results" / "dashboard_pages.json"
PREDICTIONS = 20
PAGES = list(FILLED)
"""Every dashboard page, as the browser tests know them (bench/ may not import the dashboard package)."""
VISITS = ("first", "repeat")
MEASURES = ("transfer_kb", "encoded_kb", "plotly_transfer_kb", "load_ms", "filled_ms")

PAGE_COST = """() => {
  const [navigation] = performance.getEntriesByType("navigation");
  const resources = performance.getEntriesByType("resource");
  const entries = [navigation, ...resources];
  const plotly = resources.filter((r) => r.name.includes("plotly.min.js"));
  const sum = (list, key) => list.reduce((total, entry) => total + entry[key], 0);
  return {
    transfer: sum(entries, "transferSize"),
    encoded: sum(entries, "encodedBodySize"),
    plotly_transfer: sum(plotly, "transferSize"),
    load: navigation.loadEventEnd,
  };
}"""
"""The page's bytes and load time as the browser accounts them."""


def migrated_store(folder: Path) -> Path:
    """An MLflow SQLite database with its schema created (as the tests' fixture makes one)."""
    database = folder / "migrated" / "mlflow.db"
    database.parent.mkdir(parents=True)
    subprocess.run(
        [sys.executable, "-c", f"import mlflow; mlflow.MlflowClient('sqlite:///{database}').search_experiments()"],
        check=True,
        capture_output=True,
    )
    return database


@contextmanager
def serving(checkout: Path, workdir: Path, store: str) -> Iterator[str]:
    """gunicorn as `make serve` starts it, from `checkout`'s code, until the block ends; yields its URL."""
    workdir.mkdir(parents=True)
    (workdir / "prometheus").mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONPATH": str(checkout),
        "MLFLOW_TRACKING_URI": store,
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / "prometheus"),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "SERVE_PREDICTION_DB": str(workdir / "predictions.db"),
        "SERVE_ADMIN_TOKEN": ADMIN_TOKEN,
        "SERVE_PIPELINE_DIR": str(workdir),
    }
    command = [sys.executable, "-m", "gunicorn", "-c", checkout / "serve" / "gunicorn.conf.py", "serve.wsgi:app"]
    process = start_process(command, workdir / "server.log", lambda: answers(f"{url}/ready"), 120, env, cwd=checkout)
    try:
        yield url
    finally:
        stop_process(process)


def log_predictions(url: str) -> None:
    """A few answered predictions, so every page has figures to show."""
    for number in range(PREDICTIONS):
        record = {**RECORD, "median_income": 2 + number / 4, "longitude": -122.2 + number / 10}
        requests.post(f"{url}/predict", json=record, timeout=30).raise_for_status()
    assert eventually(lambda: requests.get(f"{url}/predictions", timeout=5).json()["total"] >= PREDICTIONS)


def visit(page: Any, url: str, name: str) -> dict[str, float]:
    """Open one page, wait for its first figures, and read what it cost."""
    from playwright.sync_api import expect

    page.goto(f"{url}/dashboard/{name}", wait_until="load")
    expect(page.locator(FILLED[name])).not_to_have_text(UNFILLED, timeout=60_000)
    filled = page.evaluate("() => performance.now()")
    cost = page.evaluate(PAGE_COST)
    return {
        "transfer_kb": cost["transfer"] / 1024,
        "encoded_kb": cost["encoded"] / 1024,
        "plotly_transfer_kb": cost["plotly_transfer"] / 1024,
        "load_ms": cost["load"],
        "filled_ms": filled,
    }


def one_round(browser: Any, url: str) -> dict[str, dict[str, dict[str, float]]]:
    """Each page's first visit (its own new context) and repeat visit (after every page was opened once)."""
    first = {}
    for name in PAGES:
        context = browser.new_context()
        first[name] = visit(context.new_page(), url, name)
        context.close()
    context = browser.new_context()
    page = context.new_page()
    for name in PAGES:
        visit(page, url, name)
    repeat = {name: visit(page, url, name) for name in PAGES}
    context.close()
    return {"first": first, "repeat": repeat}


def medians(rounds: list[dict[str, dict[str, dict[str, float]]]]) -> dict[str, dict[str, dict[str, float]]]:
    return {
        kind: {
            name: {measure: round(statistics.median(r[kind][name][measure] for r in rounds), 1) for measure in MEASURES}
            for name in PAGES
        }
        for kind in VISITS
    }


def measure(checkout: Path, folder: Path, store: str, rounds: int) -> dict[str, Any]:
    """Every page's median costs on a server running `checkout`'s code."""
    with serving(checkout, folder, store) as url, chromium() as browser:
        log_predictions(url)
        one_round(browser, url)  # warms the workers: gzipped copies made, templates compiled
        measured = [one_round(browser, url) for _ in range(rounds)]
    return {"checkout": str(checkout), "commit": commit(checkout), "pages": medians(measured)}


def commit(checkout: Path) -> str:
    found = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=checkout, capture_output=True, text=True)
    return found.stdout.strip()


def by_page(measured: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per page and visit: each measure for each checkout, and after/before where both were
    measured (None where before is 0): the shape the manual renders as one table (ops/bench_tables.py)."""
    records = []
    for kind in VISITS:
        for name in PAGES:
            record: dict[str, Any] = {"page": name, "visit": kind}
            for measure_name in MEASURES:
                figures = {label: result["pages"][kind][name][measure_name] for label, result in measured.items()}
                if "before" in figures:
                    old = figures["before"]
                    figures["after/before"] = round(figures["after"] / old, 3) if old else None
                record[measure_name] = figures
            records.append(record)
    return records


def table(label: str, result: dict[str, Any]) -> str:
    lines = [f"{label} ({result['commit']}): page, visit, " + ", ".join(MEASURES)]
    for kind, pages in result["pages"].items():
        for name, figures in pages.items():
            lines.append(f"  {name:8} {kind:6} " + "  ".join(f"{figures[m]:>9.1f}" for m in MEASURES))
    return "\n".join(lines)


def run(before: Path | None, rounds: int, note: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as scratch:
        folder = Path(scratch)
        store = fresh_store(folder / "store", migrated_store(folder))
        register_version(store)
        result: dict[str, Any] = {**provenance("bench.dashboard_pages"), "rounds": rounds}
        if note:
            result["note"] = note
        checkouts = {"before": before, "after": PROJECT} if before is not None else {"after": PROJECT}
        measured = {}
        for label, checkout in checkouts.items():
            measured[label] = measure(checkout, folder / label, store, rounds)
            print(table(label, measured[label]))
    result["checkouts"] = {label: {"path": m["checkout"], "commit": m["commit"]} for label, m in measured.items()}
    result["pages"] = by_page(measured)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="a checkout of the commit to compare with (git worktree add)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of visits; each figure is their median")
    parser.add_argument("--output", type=Path, default=RESULT)
    parser.add_argument("--note", help="what else the machine was doing, or anything a reader should know")
    args = parser.parse_args()
    measured = run(args.before, args.rounds, args.note)
    args.output.write_text(json.dumps(measured, indent=2) + "\n")
    print(f"wrote {args.output}")
