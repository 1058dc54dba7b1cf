"""The Python steps of demo/steps.sh (demo/retrain.sh, demo/tour.sh): split the data, drive the
API, print what happened."""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import pandas as pd
import requests
import yaml

from housing.schema import RAW_COLUMNS, TARGET, records
from ops import presets
from tests.support.processes import answers, eventually

BAY_AREA = "latitude > 37.1 and latitude < 38.5 and longitude < -121.5"
"""San Francisco, Oakland, San Jose and around: about a fifth of California's block groups."""
CHUNK = 100


def split(source: Path, scratch: Path) -> None:
    data = pd.read_csv(source)
    bay = data.query(BAY_AREA)
    data.drop(bay.index).to_csv(scratch / "base.csv", index=False)
    bay.to_csv(scratch / "bay.csv", index=False)
    print(f"{len(data) - len(bay)} rows elsewhere (the training source), {len(bay)} Bay Area rows (the new batch)")


def use_source(path: Path, preset: str | None = None) -> None:
    """Point params.yaml's ingest at the local source, pinned by its sha256; write a preset's values in."""
    params = yaml.safe_load(Path("params.yaml").read_text())
    params["ingest"].update(source=str(path), sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    if preset:
        presets.apply(preset, params)
        print(f"params.yaml: the {preset!r} preset of ops/presets.py: {presets.dvc_flags(preset)}")
    Path("params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def wait_ready(api: str) -> None:
    """Wait until the API has loaded its champion (make serve, started in the background, takes a while)."""
    if not eventually(lambda: answers(f"{api}/ready"), timeout=300, interval=1):
        raise SystemExit(f"{api} never became ready")


def traffic(api: str, rows_csv: Path, label: str, feedback_rows: int | None = None) -> None:
    """Predict every row (100 per request), then report each row's true price as feedback (or only the
    last `feedback_rows` rows': the live RMSE counts the latest SERVE_LIVE_WINDOW reports)."""
    wait_ready(api)
    data = pd.read_csv(rows_csv)
    rows = records(data[RAW_COLUMNS])
    versions = set()
    for start in range(0, len(rows), CHUNK):
        request_id = f"{label}-{start // CHUNK}"
        answer = requests.post(
            f"{api}/predict", json=rows[start : start + CHUNK], headers={"X-Request-ID": request_id}, timeout=60
        )
        answer.raise_for_status()
        versions.add(answer.json()["model"]["version"])
    time.sleep(2)  # the prediction log is written off the request path
    first = 0 if feedback_rows is None else max(len(rows) - feedback_rows, 0)
    for position, actual in enumerate(data[TARGET].iloc[first:], start=first):
        feedback = {"request_id": f"{label}-{position // CHUNK}", "row": position % CHUNK, "actual_value": actual}
        requests.post(f"{api}/feedback", json=feedback, timeout=60).raise_for_status()
    sent = "each" if first == 0 else f"the last {len(rows) - first}"
    print(f"served {len(rows)} Bay Area rows with model version(s) {sorted(versions)}; feedback sent for {sent}")


def reloaded(api: str, receipt: Path) -> None:
    """Wait until every answer comes from the version register just promoted, if it promoted one: after
    /admin/reload each worker loads and checks it before swapping it in."""
    record = json.loads(receipt.read_text())
    if not record.get("promoted"):
        return
    in_a_row = 0
    for _ in range(1500):
        in_a_row = (
            in_a_row + 1 if requests.get(f"{api}/model/info", timeout=60).json()["version"] == record["version"] else 0
        )
        if in_a_row == 10:
            print(f"every worker serves v{record['version']}")
            return
        time.sleep(0.2)
    raise SystemExit(f"{api} still answers with another version than v{record['version']}")


def drift(api: str) -> None:
    report = requests.get(f"{api}/drift", timeout=60).json()
    print(f"served traffic against v{report['model']['version']}'s training data: {report['rows']} rows")
    for name, figures in report["features"].items():
        flag = "DRIFTED" if figures["drifted"] else ""
        print(f"  {name:20s} PSI {figures['psi']:8.3f}  {figures['test']} effect {figures['effect']}  {flag}")


def decision(status_file: Path) -> None:
    record = json.loads(status_file.read_text())
    print(json.dumps({key: record.get(key) for key in ("retrain", "reasons", "evidence")}, indent=2))
    outcome = record.get("outcome")
    if outcome:
        test_rmse = outcome["metrics"]["test_rmse"]
        print(
            f"registered v{outcome['version']} ({outcome['model_family']}, test RMSE {test_rmse:.4f});"
            f" alias: {outcome['alias']}; the gate: {outcome['comparison']['summary']}"
        )


def live(api: str) -> None:
    metrics = requests.get(f"{api}/metrics", timeout=60).text
    for line in metrics.splitlines():
        if line.startswith(("housing_live_rmse_dollars", "housing_live_feedback_count")):
            print(" ", line)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    steps = parser.add_subparsers(dest="step", required=True)
    steps.add_parser("split").add_argument("source", type=Path)
    steps.choices["split"].add_argument("scratch", type=Path)
    steps.add_parser("use-source").add_argument("path", type=Path)
    steps.choices["use-source"].add_argument("--preset", choices=sorted(presets.PRESETS))
    for name in ("ready", "traffic", "drift", "live"):
        steps.add_parser(name).add_argument("api")
    steps.choices["traffic"].add_argument("rows", type=Path)
    steps.choices["traffic"].add_argument("label")
    steps.choices["traffic"].add_argument("--feedback-rows", type=int)
    steps.add_parser("reloaded").add_argument("api")
    steps.choices["reloaded"].add_argument("receipt", type=Path)
    steps.add_parser("decision").add_argument("status", type=Path)
    args = parser.parse_args()
    if args.step == "split":
        split(args.source, args.scratch)
    elif args.step == "use-source":
        use_source(args.path, args.preset)
    elif args.step == "ready":
        wait_ready(args.api)
    elif args.step == "traffic":
        traffic(args.api, args.rows, args.label, args.feedback_rows)
    elif args.step == "reloaded":
        reloaded(args.api, args.receipt)
    elif args.step == "drift":
        drift(args.api)
    elif args.step == "decision":
        decision(args.status)
    else:
        live(args.api)
