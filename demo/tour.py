"""The Python steps of demo/tour.sh beyond the retrain loop's (demo/steps.py): the MLflow UI's
pages, one served prediction, the dashboard's pages. Each prints what to look at."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
import requests
import yaml

from demo.steps import wait_ready
from housing.schema import RAW_COLUMNS, TARGET, records
from tests.support.processes import answers, eventually

DASHBOARD = {
    "live": "requests, latency and predictions as they arrive, and the live RMSE once feedback comes",
    "models": "the registered versions, which one is champion, and their test RMSE",
    "history": "the logged predictions and the feedback scored against them",
    "drift": "the served traffic against the champion's training data, feature by feature",
    "system": "the server's workers, CPU and memory",
    "retrain": "the latest retrain decision: its evidence, reasons and outcome",
}
"""The dashboard's pages (/dashboard/<page>, their JSON under /dashboard/api/...), with what each shows."""


def look(what: str) -> None:
    print(f"    look at: {what}")


def status(url: str) -> int | None:
    try:
        return requests.get(url, timeout=30).status_code
    except requests.RequestException:
        return None


def mlflow_ui(ui: str) -> None:
    """Wait for the MLflow UI, then name the experiment's and the registered model's pages."""
    params = yaml.safe_load(Path("params.yaml").read_text())
    experiment, model = params["mlflow"]["experiment"], params["register"]["model_name"]
    if not eventually(lambda: answers(ui, timeout=30), timeout=120, interval=1):
        raise SystemExit(f"the MLflow UI at {ui} never answered (see mlflow-ui.log)")
    api = f"{ui}/ajax-api/2.0/mlflow"
    found = requests.get(f"{api}/experiments/get-by-name", params={"experiment_name": experiment}, timeout=30)
    registered = requests.get(f"{api}/registered-models/get", params={"name": model}, timeout=30)
    found.raise_for_status()
    registered.raise_for_status()
    experiment_id = found.json()["experiment"]["experiment_id"]
    aliases = registered.json()["registered_model"].get("aliases", [])
    named = ", ".join(f"{alias['alias']} is v{alias['version']}" for alias in aliases) or "no alias yet"
    print(f"MLflow UI: {ui} answers 200; registered model {model}: {named}")
    look(f"{ui}/#/experiments/{experiment_id} (one run per family and the blend: params, metrics, system metrics)")
    look(f"{ui}/#/models/{model} (the registered versions; the aliases champion and challenger)")


def predict(api: str, rows_csv: Path, row: int) -> None:
    """One row of the CSV, predicted: the request, the answer and the true price."""
    wait_ready(api)
    data = pd.read_csv(rows_csv).iloc[[row]]
    record = records(data[RAW_COLUMNS])[0]
    print(f"POST {api}/predict {json.dumps(record)}")
    answer = requests.post(f"{api}/predict", json=record, timeout=60)
    answer.raise_for_status()
    print(json.dumps(answer.json(), indent=2))
    print(f"true price of this block group: ${data[TARGET].iloc[0]:,.0f}")


def dashboard(api: str) -> None:
    """Every dashboard page with what to look at; warns (and goes on) where one does not answer 200."""
    missing = []
    for page, what in DASHBOARD.items():
        url = f"{api}/dashboard/{page}"
        code = status(url)
        look(f"{url} ({what})" + ("" if code == 200 else f"  [answers {code}]"))
        if code != 200:
            missing.append(page)
    if missing:
        print(
            f"    WARNING: {len(missing)} of {len(DASHBOARD)} dashboard pages do not answer 200: {', '.join(missing)}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    steps = parser.add_subparsers(dest="step", required=True)
    steps.add_parser("mlflow-ui").add_argument("ui")
    steps.add_parser("predict").add_argument("api")
    steps.choices["predict"].add_argument("rows", type=Path)
    steps.choices["predict"].add_argument("--row", type=int, default=0)
    steps.add_parser("dashboard").add_argument("api")
    args = parser.parse_args()
    if args.step == "mlflow-ui":
        mlflow_ui(args.ui)
    elif args.step == "predict":
        predict(args.api, args.rows, args.row)
    else:
        dashboard(args.api)
