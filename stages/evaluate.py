"""evaluate: score every candidate's saved model on val (for selection) and test (for the report), as served.

    python -m stages.evaluate --models models --splits data/processed --scores metrics --plots plots \
        --intervals reports/intervals.json --golden golden

The candidates are the families and their blend. Each model is loaded through MLflow's pyfunc
interface, exactly as serving loads it, and fed raw rows. Writes one scores file per candidate (RMSE,
MAE and R² on val and test, units of $100,000; the blend's also has its weights): dvc.yaml's
top-level metrics, one row per candidate in `dvc metrics show`. Per candidate, as DVC plot folders:
the test split's predicted against actual values, its residuals, and feature importances where it
has them. `--intervals` gets a paired bootstrap 95% interval of the test RMSE difference between
the candidate validation selects (the one register registers) and each other one. `--golden` gets
each candidate's golden set (housing.golden): its predictions, made as a server makes them, on the
validation, test and edge rows, which register ships with the registered model.

The same figures go to MLflow, into each candidate's training run (the run its saved model names):
its scores under the scores file's names and its interval against the selected candidate
(housing.names.INTERVAL_METRICS), with tags naming this evaluation, its candidates and the selected
one, so the dashboard and the MLflow UI show the candidates of one pipeline run side by side. A
store that cannot be reached fails the stage before anything is scored or logged; a training run the
store does not hold (DVC restored that train stage from its run cache, or the models were pulled) is
named and left out.
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from mlflow.entities import LifecycleStage, Metric, RunTag
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PyFuncModel  # mlflow.pyfunc is a LazyLoader to type checkers
from mlflow.tracking import MlflowClient

from housing.ensemble import WeightedAverage
from housing.fast import single_threaded
from housing.golden import PREDICTION, golden_rows
from housing.names import (
    EVALUATED_AT,
    EVALUATION_CANDIDATES,
    EVALUATION_ID,
    EVALUATION_SELECTED,
    INTERVAL_METRICS,
)
from housing.scores import regression_scores, rmse_difference_intervals
from housing.target import feature_importance
from stages.atomic import atomic_path, write_json
from stages.errors import StageError, exits_cleanly
from stages.params import CANDIDATES, EvaluateParams, load_params
from stages.saved_models import load_saved_model
from stages.selection import best_on_validation
from stages.splits import load_split
from stages.tracking import tracking_uri

SCORED_SPLITS = ("val", "test")
PLOTS = ("predictions", "residuals", "importance")


def member_weights(model: PyFuncModel) -> dict[str, float]:
    """A blend's weight per family (`weight_lightgbm`, ...); nothing for a single family."""
    last = model.get_raw_model()[-1]
    if not isinstance(last, WeightedAverage):
        return {}
    return {f"weight_{family}": round(weight, 5) for family, weight in last.named_weights().items()}


def scores_of(predicted: dict[str, np.ndarray], splits: dict[str, tuple[pd.DataFrame, np.ndarray]]) -> dict:
    """Flat keys (`val_rmse`, ...), so every family's file has the same columns in `dvc metrics show`."""
    return {
        f"{split}_{name}": value
        for split, (_, actual) in splits.items()
        for name, value in regression_scores(actual, predicted[split]).items()
    }


def write_golden(golden: Path, candidate: str, model: PyFuncModel, rows: pd.DataFrame) -> None:
    """The candidate's predictions on the golden rows by its single-threaded pipeline, as served."""
    predicted = np.asarray(single_threaded(model.get_raw_model()).predict(rows)).ravel()
    rows.assign(**{PREDICTION: predicted}).to_parquet(golden / f"{candidate}.parquet", index=False)


def write_plots(plots: Path, family: str, model: PyFuncModel, actual: np.ndarray, predicted) -> None:
    frames = {
        "predictions": pd.DataFrame({"actual": actual, "predicted": predicted}),
        "residuals": pd.DataFrame({"predicted": predicted, "residual": predicted - actual}),
    }
    importance = feature_importance(model.get_raw_model())
    if importance is not None:
        frames["importance"] = importance.rename_axis("feature").rename("importance").reset_index()
    for name, frame in frames.items():
        frame.round(5).to_csv(plots / name / f"{family}.csv", index=False)


def tracking_store() -> MlflowClient:
    """The configured MLflow store, asked one question now: one that cannot be reached fails the stage
    before minutes of scoring, not after, and before anything is logged."""
    client = MlflowClient(tracking_uri())
    try:
        client.search_experiments(max_results=1)
    except MlflowException as error:
        raise StageError(f"the MLflow tracking store cannot be read: {first_line(error)}") from error
    return client


def first_line(error: Exception) -> str:
    return str(error).splitlines()[0]


def training_runs(store: MlflowClient, run_ids: dict[str, str | None]) -> dict[str, str]:
    """The training run of each candidate (its saved model names it) that the store holds as an active
    run. A missing one is not an error: a train stage DVC restored from its run cache, or models pulled
    from a remote, logged no run in this store. It is named on stdout and left out."""
    found = {}
    for candidate, run_id in run_ids.items():
        if run_id is not None and is_active_run(store, run_id):
            found[candidate] = run_id
        else:
            print(f"evaluate {candidate}: its training run {run_id} is not in the tracking store; nothing logged to it")
    return found


def is_active_run(store: MlflowClient, run_id: str) -> bool:
    try:
        return store.get_run(run_id).info.lifecycle_stage == LifecycleStage.ACTIVE
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return False
        raise StageError(f"the MLflow tracking store cannot be read: {first_line(error)}") from error


def log_evaluation(
    store: MlflowClient, runs: dict[str, str], scores: dict[str, dict], intervals: dict[str, dict], selected: str
) -> None:
    """Each candidate's figures, its scores file's and its interval against the selected candidate, into
    its training run with the tags of this evaluation: one write per run, so a run holds all of them or
    none; a store that fails on the way fails the stage naming the runs already written."""
    tags = {
        EVALUATION_ID: uuid.uuid4().hex,
        EVALUATED_AT: datetime.now(UTC).isoformat(timespec="milliseconds"),
        EVALUATION_CANDIDATES: ",".join(scores),
        EVALUATION_SELECTED: selected,
    }
    now = int(time.time() * 1000)
    logged: list[str] = []
    for candidate, run_id in runs.items():
        interval = {INTERVAL_METRICS[field]: float(value) for field, value in intervals.get(candidate, {}).items()}
        figures = scores[candidate] | interval
        try:
            store.log_batch(
                run_id,
                metrics=[Metric(name, value, now, 0) for name, value in figures.items()],
                tags=[RunTag(name, value) for name, value in tags.items()],
            )
        except MlflowException as error:
            written = ", ".join(logged) or "none"
            raise StageError(
                f"the MLflow tracking store failed while logging {candidate}'s evaluation (already logged: {written}):"
                f" {first_line(error)}"
            ) from error
        logged.append(candidate)
    candidates = ", ".join(logged) or "no candidate"
    print(f"evaluate: logged to the training runs of {candidates} (evaluation {tags[EVALUATION_ID]})")


@exits_cleanly
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--splits", type=Path, required=True)
    parser.add_argument("--scores", type=Path, required=True)
    parser.add_argument("--plots", type=Path, required=True)
    parser.add_argument("--intervals", type=Path, required=True)
    parser.add_argument("--golden", type=Path, required=True)
    args = parser.parse_args()
    seed = load_params("seed", int)
    params = load_params("evaluate", EvaluateParams)

    splits = {split: load_split(args.splits, split) for split in SCORED_SPLITS}
    store = tracking_store()
    scores: dict[str, dict] = {}
    run_ids: dict[str, str | None] = {}
    test_predicted: dict[str, np.ndarray] = {}
    rows = golden_rows(*(X for X, _ in splits.values()))
    with atomic_path(args.plots) as plots, atomic_path(args.golden) as golden:
        golden.mkdir()
        for name in PLOTS:
            (plots / name).mkdir(parents=True)
        for candidate in CANDIDATES:
            model = load_saved_model(args.models, candidate)
            run_ids[candidate] = model.metadata.run_id
            predicted = {split: np.asarray(model.predict(X)).ravel() for split, (X, _) in splits.items()}
            scores[candidate] = scores_of(predicted, splits) | member_weights(model)
            test_predicted[candidate] = predicted["test"]
            write_plots(plots, candidate, model, splits["test"][1], predicted["test"])
            write_golden(golden, candidate, model, rows)
            val, test = scores[candidate]["val_rmse"], scores[candidate]["test_rmse"]
            print(f"evaluate {candidate}: val RMSE {val:.4f}, test RMSE {test:.4f}")
    selected = best_on_validation(scores)
    intervals = rmse_difference_intervals(splits["test"][1], test_predicted, selected, params.bootstrap_resamples, seed)
    with atomic_path(args.scores) as staged:
        staged.mkdir()
        for candidate, figures in scores.items():
            write_json(staged / f"{candidate}.json", figures)
    write_json(args.intervals, {"selected": selected, "resamples": params.bootstrap_resamples, "test_rmse": intervals})
    for candidate, interval in intervals.items():
        better = selected if interval["low"] > 0 else candidate
        verdict = "noise" if interval["noise"] else f"{better} better"
        print(
            f"evaluate: test RMSE {candidate} - {selected} = {interval['difference']:+.4f}"
            f" [{interval['low']:+.4f}, {interval['high']:+.4f}] ({verdict})"
        )
    log_evaluation(store, training_runs(store, run_ids), scores, intervals, selected)


if __name__ == "__main__":
    main()
