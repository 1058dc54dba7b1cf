"""evaluate: score every family's saved model on val (for selection) and test (for the report), as served.

    python -m stages.evaluate --models models --splits data/processed --scores metrics --plots plots

Each model is loaded through MLflow's pyfunc interface, exactly as serving loads it, and fed raw rows.
Writes one scores file per family (RMSE, MAE and R² on val and test, units of $100,000): dvc.yaml's
top-level metrics, one row per family in `dvc metrics show`. Per family, as DVC plot folders: the
test split's predicted against actual values, its residuals, and feature importances where the
family has them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from housing.scores import regression_scores
from housing.target import feature_importance
from stages.atomic import atomic_path, write_json
from stages.errors import StageError, exits_cleanly
from stages.params import MODEL_PARAMS
from stages.splits import load_split

SCORED_SPLITS = ("val", "test")
PLOTS = ("predictions", "residuals", "importance")


def load_model(models: Path, family: str) -> mlflow.pyfunc.PyFuncModel:
    folder = models / family
    if not (folder / "MLmodel").is_file():
        raise StageError(f"{folder}: no MLflow model here; run the train@{family} stage first")
    return mlflow.pyfunc.load_model(str(folder))


def scores_of(predicted: dict[str, np.ndarray], splits: dict[str, tuple[pd.DataFrame, np.ndarray]]) -> dict:
    """Flat keys (`val_rmse`, ...), so every family's file has the same columns in `dvc metrics show`."""
    return {
        f"{split}_{name}": value
        for split, (_, actual) in splits.items()
        for name, value in regression_scores(actual, predicted[split]).items()
    }


def write_plots(plots: Path, family: str, model: mlflow.pyfunc.PyFuncModel, actual: np.ndarray, predicted) -> None:
    frames = {
        "predictions": pd.DataFrame({"actual": actual, "predicted": predicted}),
        "residuals": pd.DataFrame({"predicted": predicted, "residual": predicted - actual}),
    }
    importance = feature_importance(model.get_raw_model())
    if importance is not None:
        frames["importance"] = importance.rename_axis("feature").rename("importance").reset_index()
    for name, frame in frames.items():
        frame.round(5).to_csv(plots / name / f"{family}.csv", index=False)


@exits_cleanly
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--splits", type=Path, required=True)
    parser.add_argument("--scores", type=Path, required=True)
    parser.add_argument("--plots", type=Path, required=True)
    args = parser.parse_args()

    splits = {split: load_split(args.splits, split) for split in SCORED_SPLITS}
    scores: dict[str, dict] = {}
    with atomic_path(args.plots) as plots:
        for name in PLOTS:
            (plots / name).mkdir(parents=True)
        for family in MODEL_PARAMS:
            model = load_model(args.models, family)
            predicted = {split: np.asarray(model.predict(X)).ravel() for split, (X, _) in splits.items()}
            scores[family] = scores_of(predicted, splits)
            write_plots(plots, family, model, splits["test"][1], predicted["test"])
            val, test = scores[family]["val_rmse"], scores[family]["test_rmse"]
            print(f"evaluate {family}: val RMSE {val:.4f}, test RMSE {test:.4f}")
    with atomic_path(args.scores) as staged:
        staged.mkdir()
        for family, figures in scores.items():
            write_json(staged / f"{family}.json", figures)


if __name__ == "__main__":
    main()
