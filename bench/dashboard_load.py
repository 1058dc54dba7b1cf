"""bench/dashboard_load: prediction throughput with dashboard tabs open against without, on one server.

    make bench-dashboard    # or: python -m bench.dashboard_load --rounds 4 --seconds 10 --tabs 2

The dashboard polls (serve/dashboard/static/common.js says why it does not push: with sync gunicorn
workers a Server-Sent Events stream would hold a prediction worker per open tab). This measures what
the polling costs the predictions: one gunicorn server (sync, two workers) on the champion of the
repository's tracking store, wrk sending single records to /predict at concurrency 8, in alternating
rounds without and with headless Chromium holding the busiest pages open (System, Live, ...). The
rounds alternate so that the machine's drift over the run falls on both sides; the result is the
ratio of the medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from contextlib import ExitStack
from pathlib import Path

from bench.provenance import provenance
from bench.serve import BIN_DIR, records, run_wrk, server_env, serving, wrk_script
from tests.support.browser import FILLED, UNFILLED, chromium

PORT = 8611
URL = f"http://127.0.0.1:{PORT}"
PAGES = ("system", "live", "history", "models")
"""Opened in this order, as many as --tabs asks: the pages that poll most often first."""
CONCURRENCY = 8


def open_dashboard(stack: ExitStack, tabs: int) -> None:
    """Headless Chromium with the first `tabs` pages open and drawn; they keep polling until the stack closes."""
    browser = stack.enter_context(chromium())
    for name in PAGES[:tabs]:
        page = browser.new_page()
        page.goto(f"{URL}/dashboard/{name}")
        page.wait_for_function(
            "([selector, pattern]) => !new RegExp(pattern).test(document.querySelector(selector).textContent.trim())",
            arg=[FILLED[name], UNFILLED.pattern],
        )


def measure(script: Path, seconds: int, tabs: int) -> dict:
    with ExitStack() as stack:
        if tabs:
            open_dashboard(stack, tabs)
        result = run_wrk(f"{URL}/predict", script, CONCURRENCY, seconds, close=False)
    print(f"{'with' if tabs else 'without':>8} dashboard: {result}", flush=True)
    return {"dashboard_tabs": tabs, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4, help="pairs of runs, without then with")
    parser.add_argument("--seconds", type=int, default=10, help="wrk seconds per run")
    parser.add_argument("--tabs", type=int, default=2, choices=range(1, len(PAGES) + 1))
    parser.add_argument("--out", type=Path, default=Path("bench/results/dashboard_load.json"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    script = wrk_script(work, "single", json.dumps(records(1)[0]))
    env = {**server_env(work, PORT, workers=2), "GUNICORN_WORKER_CLASS": "sync"}
    command = [str(BIN_DIR / "gunicorn"), "-c", "serve/gunicorn.conf.py", "serve.wsgi:app"]
    runs = []
    with serving(command, env, f"{URL}/ready", work / "serve.log"):
        for _ in range(args.rounds):
            runs += [measure(script, args.seconds, 0), measure(script, args.seconds, args.tabs)]
    median = {
        side: statistics.median(run["requests_per_s"] for run in runs if bool(run["dashboard_tabs"]) == side)
        for side in (False, True)
    }
    summary = {
        "pages": list(PAGES[: args.tabs]),
        "requests_per_s_without": median[False],
        "requests_per_s_with": median[True],
        "ratio_with_to_without": round(median[True] / median[False], 3),
        "errors": sum(run["errors"] + run["socket_errors"] for run in runs),
    }
    report = {**provenance("bench.dashboard_load"), "concurrency": CONCURRENCY, "seconds": args.seconds}
    report |= {"summary": summary, "runs": runs}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    print(f"results in {args.out}")


if __name__ == "__main__":
    main()
