"""retrain: decide from the evidence whether to retrain, retrain through DVC if so, and record why.

    python -m ops.retrain [--dry-run] [--force]        (make retrain)

The evidence, each against its threshold in params.yaml (`retrain`):
- new data: rows ingested since the last training (data/raw against reports/preprocess.json);
- drift of each new batch (reports/drift.json, refreshed with `dvc repro drift`) and of the latest
  served inputs (the prediction log) against the champion's own training profile;
- the champion's live RMSE over the latest feedback (the prediction log);
- the time since the last model was registered (the MLflow registry).
Any one reached means retrain: `dvc repro`, whose register stage makes the new model champion only
if it beats the current one (otherwise challenger). The decision, its evidence and the outcome go to
reports/retrain/<time>.json and status.json; a lock keeps two runs (make, API, schedule) apart
(serve.retrain_lock is the contract with POST /admin/retrain).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess  # nosec B404  # runs dvc with this program's own arguments, no shell
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from sklearn.pipeline import Pipeline

from housing.drift import DriftThresholds
from housing.names import CHAMPION
from serve import prediction_log
from serve.drift import served_traffic_drift, training_profile
from serve.retrain_lock import LOCK, RECORDS, STATUS, RetrainRunning, hold
from serve.settings import Settings
from serve.watcher import IncompatibleModel, load_pipeline
from stages.atomic import write_json, write_text
from stages.drift_report import render_report
from stages.errors import StageError, exits_cleanly
from stages.params import MlflowParams, RegisterParams, RetrainParams, load_params
from stages.tracking import RETRAIN_REASON_ENV, configure_tracking

STAGE_LINE = re.compile(r"Running stage '(?P<ran>[^']+)':|Stage '(?P<skipped>[^']+)' didn't change, skipping")
"""How `dvc repro` says it ran a stage, or skipped one whose dependencies did not change."""
RAW, DRIFT, PREPROCESS, RECEIPT = (
    Path("data/raw/housing.csv"),
    Path("reports/drift.json"),
    Path("reports/preprocess.json"),
    Path("reports/registered.json"),
)


def dvc(*args: str, env: dict[str, str] | None = None) -> dict[str, list[str]]:
    """Run a DVC command, its output passed through; the stages it ran and those it skipped, as it says.

    A failure is a StageError naming the command.
    """
    stages: dict[str, list[str]] = {"ran": [], "skipped": []}
    command = ["dvc", *args]
    with subprocess.Popen(  # nosec B603  # dvc and fixed subcommands, no shell
        command, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        for line in process.stdout or ():
            print(line, end="", flush=True)
            if found := STAGE_LINE.match(line):
                stages[str(found.lastgroup)].append(found[str(found.lastgroup)])
    if process.returncode != 0:
        raise StageError(f"`dvc {' '.join(args)}` failed (its own message is above); nothing was retrained")
    return stages


@dataclass
class Evidence:
    """What was measured, and the reasons to retrain: the checks whose threshold was reached."""

    figures: dict[str, Any] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    def check(self, reached: bool, reason: str) -> None:
        if reached:
            self.reasons.append(reason)


def new_data(evidence: Evidence, params: RetrainParams) -> None:
    """Rows ingested since the last training, and the drift of the batches they came in."""
    trained_on = json.loads(PREPROCESS.read_text())["rows_in"] if PREPROCESS.exists() else 0
    new_rows = len(pd.read_csv(RAW, usecols=["longitude"])) - trained_on
    batches = json.loads(DRIFT.read_text())
    new_batches = {name: batch["drifted"] for name, batch in batches.items() if batch["first_row"] >= trained_on}
    evidence.figures.update(new_rows=new_rows, new_batch_drift=new_batches)
    evidence.check(new_rows >= params.min_new_rows, f"{new_rows} new rows (threshold {params.min_new_rows})")
    for name, drifted in new_batches.items():
        evidence.check(len(drifted) >= params.drifted_features, f"batch {name} drifted in {', '.join(drifted)}")


def model_age(evidence: Evidence, client: MlflowClient, name: str, params: RetrainParams) -> None:
    """Days since the newest registered version, champion or not: the last time the pipeline trained."""
    newest = client.search_model_versions(f"name = '{name}'", max_results=1, order_by=["creation_timestamp DESC"])
    if not newest:
        evidence.check(True, f"no version of {name} is registered")
        return
    days = (time.time() - newest[0].creation_timestamp / 1000) / 86400
    evidence.figures["days_since_training"] = round(days, 2)
    evidence.check(days > params.max_age_days, f"last trained {days:.1f} days ago")


def served_traffic(evidence: Evidence, champion: ModelVersion, pipeline: Pipeline, params: RetrainParams, log: str):
    """Drift of the latest served inputs from the champion's training data, and the champion's live error."""
    thresholds = load_params("drift", DriftThresholds)
    reference = training_profile(pipeline)
    served = reference and served_traffic_drift(reference, log, params.served_window, thresholds)
    if served:
        intro = f"The latest {served['rows']} served rows against the training data of version {champion.version}."
        page = render_report("Served traffic", intro, {"served": served}, thresholds)
        write_text(RECORDS / "served_drift.html", page)
        evidence.figures.update(served_rows=served["rows"], served_drift=served["drifted"])
        reached = served["drifted_count"] >= params.drifted_features
        evidence.check(reached, f"served traffic drifted in {', '.join(served['drifted'])}")
    for live in prediction_log.live_errors(log, Settings().live_window):
        if live.model_version == int(champion.version) and live.role != "shadow" and live.count:
            evidence.figures.update(live_rmse_dollars=round(live.rmse, 2), live_feedback=live.count)
            reached = live.count >= params.min_feedback and live.rmse > params.max_live_rmse_dollars
            evidence.check(reached, f"live RMSE ${live.rmse:,.0f} over {live.count} reports")


def gather(params: RetrainParams, model_name: str, log: str) -> Evidence:
    """Every check whose inputs exist: new data always, the champion's traffic once it has served some."""
    evidence = Evidence()
    new_data(evidence, params)
    client = MlflowClient()
    model_age(evidence, client, model_name, params)
    try:
        champion = client.get_model_version_by_alias(model_name, CHAMPION)
    except MlflowException:
        evidence.check(True, f"{model_name} has no champion")
        return evidence
    evidence.figures["champion"] = int(champion.version)
    try:
        model, _ = load_pipeline(client, model_name, int(champion.version))
    except IncompatibleModel as error:  # it can be neither served nor measured: retraining replaces it
        evidence.check(True, str(error))
        return evidence
    if prediction_log.exists(log):
        served_traffic(evidence, champion, model.get_raw_model(), params, log)
    return evidence


def decide_and_retrain(args: argparse.Namespace, record: dict[str, Any]) -> None:
    """Refresh the drift figures, gather the evidence, and retrain when it says so (or when forced)."""
    params = load_params("retrain", RetrainParams)
    register = load_params("register", RegisterParams)
    tracking = load_params("mlflow", MlflowParams)
    dvc("repro", "drift")
    configure_tracking(tracking.experiment)
    evidence = gather(params, register.model_name, Settings().prediction_db)
    retrain = args.force or bool(evidence.reasons)
    record.update(evidence=evidence.figures, reasons=evidence.reasons, retrain=retrain, dry_run=args.dry_run)
    why = "; ".join(evidence.reasons) or ("forced" if args.force else "no threshold reached")
    print(f"retrain: {'retraining' if retrain else 'no retraining'}: {why}")
    if retrain and not args.dry_run:
        record["stages"] = dvc("repro", env={RETRAIN_REASON_ENV: why})
        record["outcome"] = json.loads(RECEIPT.read_text())


@exits_cleanly
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="decide and record, but do not retrain")
    parser.add_argument("--force", action="store_true", help="retrain whatever the evidence says")
    args = parser.parse_args()
    try:
        with hold(LOCK):
            started = datetime.now(UTC)
            record: dict[str, Any] = {"started_at": started.isoformat(timespec="seconds"), "pid": os.getpid()}
            write_json(STATUS, {"state": "running", **record})
            try:
                decide_and_retrain(args, record)
            except Exception as error:
                record["error"] = str(error) if isinstance(error, StageError) else f"{type(error).__name__}: {error}"
                raise
            finally:
                record["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
                write_json(RECORDS / f"{started:%Y%m%dT%H%M%SZ}.json", record)
                write_json(STATUS, {"state": "failed" if "error" in record else "finished", **record})
    except RetrainRunning as error:
        raise StageError(str(error)) from None


if __name__ == "__main__":
    main()
