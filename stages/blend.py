"""blend: one model from the trained families, weighted by their out-of-fold predictions, chosen on validation.

    python -m stages.blend --models models --splits data/processed --out models/blend --report reports/train/blend.json

Each member is refitted `blend.folds` times on the other folds of the training split (with one seed:
bagging lowers a member's variance, not what it predicts) to predict the fold it did not see. Two
kinds of candidate come from those out-of-fold predictions: the non-negative weights that sum to one
and minimise their squared error, and the plain mean of the best k members for each k from 2 up.
Validation chooses among them; the test split chooses nothing.

The blend is the members' saved models, the ones evaluate scores alone, behind one feature step:
every member fitted the same preprocessing (same training rows, features params and seed), which
the stage checks, so the logged model takes raw rows and computes the features once for all members.
Members that earn less than MIN_WEIGHT are left out of it.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from scipy.optimize import minimize
from sklearn.pipeline import Pipeline

from housing.ensemble import WeightedAverage
from housing.features import grouped_folds
from housing.names import MODEL_FAMILY
from housing.scores import regression_scores
from stages.atomic import write_json
from stages.device import resolve_device
from stages.errors import StageError, exits_cleanly
from stages.families import fit_pipeline
from stages.logged_model import log_and_save
from stages.params import (
    BLEND,
    BlendParams,
    Device,
    FeatureParams,
    MlflowParams,
    Section,
    load_family_params,
    load_params,
)
from stages.saved_models import load_saved_model
from stages.splits import TrainingData, load_training_data
from stages.tracking import configure_tracking, lineage_tags

MIN_WEIGHT = 0.005


def one_seed(params: Section) -> Section:
    return params.model_copy(update={"seeds": 1}) if "seeds" in type(params).model_fields else params


def out_of_fold(
    family: str, features: FeatureParams, device: str, seed: int, folds: int, data: TrainingData[pd.DataFrame]
) -> np.ndarray:
    """The family's predictions of each training row by a refit that did not see that row's fold
    (nor its block: the folds are grouped by block)."""
    params = one_seed(load_family_params(family))
    predicted = np.empty(len(data.X))
    for fit_rows, held_rows in grouped_folds(len(data.X), folds, seed, data.blocks):
        pipeline, _ = fit_pipeline(family, params, features, device, seed, training_rows(data, fit_rows))
        predicted[held_rows] = pipeline.predict(data.X.iloc[held_rows])
    return predicted


def training_rows(data: TrainingData[pd.DataFrame], rows: np.ndarray) -> TrainingData[pd.DataFrame]:
    """The data with only these training rows (and their blocks); the same validation rows."""
    blocks = None if data.blocks is None else data.blocks[rows]
    return replace(data, X=data.X.iloc[rows], y=data.y[rows], blocks=blocks)


def least_squares_weights(predicted: pd.DataFrame, y: np.ndarray) -> dict[str, float]:
    """Weights >= 0 summing to one that minimise the squared error of the weighted predictions."""
    columns = predicted.to_numpy()
    start = np.full(columns.shape[1], 1 / columns.shape[1])
    solution = minimize(
        lambda weights: np.mean((columns @ weights - y) ** 2),
        start,
        jac=lambda weights: 2 * columns.T @ (columns @ weights - y) / len(y),
        bounds=[(0, 1)] * len(start),
        constraints={"type": "eq", "fun": lambda weights: weights.sum() - 1},
        method="SLSQP",
        options={"ftol": 1e-12, "maxiter": 1000},
    )
    kept = np.where(solution.x >= MIN_WEIGHT, solution.x, 0)
    return dict(zip(predicted.columns, kept / kept.sum(), strict=True))


def candidate_weights(predicted: pd.DataFrame, y: np.ndarray) -> dict[str, dict[str, float]]:
    """The least-squares weights, and the plain mean of the best k members (by out-of-fold RMSE)."""
    families = [str(family) for family in predicted]
    ranked = sorted(families, key=lambda family: regression_scores(y, predicted[family])["rmse"])
    candidates = {"least squares": least_squares_weights(predicted, y)}
    for k in range(2, len(ranked) + 1):
        candidates[f"mean of best {k}"] = {family: 1 / k if family in ranked[:k] else 0.0 for family in families}
    return candidates


def shared_features(members: dict[str, Pipeline], X_val: pd.DataFrame) -> Pipeline:
    """The feature step every member fitted; a StageError if any member's differs."""
    first, *others = members
    expected = members[first][:-1].transform(X_val)
    for family in others:
        if not np.array_equal(members[family][:-1].transform(X_val), expected):
            raise StageError(
                f"models/{family} and models/{first} were fitted on different features; "
                "rerun their train stages (`dvc repro`) so they share the same data and params"
            )
    return members[first][:-1]


def blend(members: dict[str, Pipeline], weights: dict[str, float], X_val: pd.DataFrame) -> Pipeline:
    """One pipeline: the shared feature step, then the weighted average of the members' own regressors."""
    kept = [family for family, weight in weights.items() if weight > 0]
    average = WeightedAverage([(family, members[family][-1]) for family in kept], [weights[family] for family in kept])
    return Pipeline([*shared_features(members, X_val).steps, ("model", average)])


@exits_cleanly
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--splits", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--report", type=Path, required=True)
    args = parser.parse_args()
    seed = load_params("seed", int)
    device = resolve_device(load_params("device", Device))
    features = load_params("features", FeatureParams)
    params = load_params("blend", BlendParams)
    tracking = load_params("mlflow", MlflowParams)

    data = load_training_data(args.splits)
    X_val, y_val = data.X_val, data.y_val
    members = {family: load_saved_model(args.models, family).get_raw_model() for family in params.members}
    started = time.perf_counter()
    predicted = pd.DataFrame(
        {family: out_of_fold(family, features, device, seed, params.folds, data) for family in members}
    )
    val_predicted = pd.DataFrame({family: members[family].predict(X_val) for family in members})
    candidates = candidate_weights(predicted, data.y)
    val_rmse = {name: regression_scores(y_val, val_predicted @ pd.Series(w))["rmse"] for name, w in candidates.items()}
    chosen = min(val_rmse, key=val_rmse.__getitem__)
    pipeline = blend(members, candidates[chosen], X_val)
    fit_seconds = time.perf_counter() - started
    report: dict[str, Any] = {  # the JSON report
        "fit_seconds": round(fit_seconds, 3),
        "chosen": chosen,
        "weights": candidates[chosen],
        "out_of_fold_rmse": {family: regression_scores(data.y, predicted[family])["rmse"] for family in members},
        "candidates": {name: {"weights": candidates[name], "val_rmse": val_rmse[name]} for name in candidates},
        "val": regression_scores(y_val, pipeline.predict(X_val)),
    }

    configure_tracking(tracking.experiment)
    with mlflow.start_run(run_name=BLEND, tags={**lineage_tags(), MODEL_FAMILY: BLEND}):
        mlflow.log_params({MODEL_FAMILY: BLEND, "seed": seed, "blend.chosen": chosen, "blend.folds": params.folds})
        mlflow.log_params({"blend.members": ",".join(params.members)})
        mlflow.log_metrics({f"weight_{family}": weight for family, weight in candidates[chosen].items()})
        mlflow.log_metrics({f"out_of_fold_rmse_{family}": rmse for family, rmse in report["out_of_fold_rmse"].items()})
        mlflow.log_metrics({"fit_seconds": report["fit_seconds"], **{f"val_{k}": v for k, v in report["val"].items()}})
        mlflow.log_dict(report, "blend.json")
        log_and_save(pipeline, BLEND, data.X.head(3), args.splits, args.out)
    write_json(args.report, report)
    weights = ", ".join(f"{family} {weight:.3f}" for family, weight in candidates[chosen].items() if weight)
    print(f"blend: {chosen} ({weights}): val RMSE {report['val']['rmse']:.4f} in {fit_seconds:.1f}s")


if __name__ == "__main__":
    main()
