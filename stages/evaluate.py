"""evaluate: score every saved model on val (for selection) and test (for the report), as served.

    python -m stages.evaluate linear xgboost ... --models models --splits data/processed \
        --metrics metrics/evaluate.json --plots plots

Each model is loaded through MLflow's pyfunc interface, exactly as serving loads it, and fed raw rows.
Writes RMSE, MAE and R² per model and split (units of $100,000) and, per model, test-set predictions
(predicted vs actual, residuals) and feature importances where the model has them, as DVC plots.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from stages.atomic import atomic_path, write_json
from stages.errors import StageError, exits_cleanly
from stages.metrics import regression_scores
from stages.models import feature_importance
from stages.params import MODEL_PARAMS
from stages.schema import FEATURES, TARGET, TARGET_SCALE

SCORED_SPLITS = ("val", "test")


def load_split(splits: Path, name: str) -> tuple[pd.DataFrame, pd.Series]:
    frame = pd.read_parquet(splits / f"{name}.parquet")
    return frame[FEATURES], frame[TARGET] / TARGET_SCALE


def importance_of(model: mlflow.pyfunc.PyFuncModel) -> pd.Series | None:
    """Feature importance of the final estimator, under the names of the features it was fed."""
    pipeline = model.get_raw_model()
    regressor = pipeline[-1]
    estimator = getattr(regressor, "regressor", regressor)
    return feature_importance(estimator, list(pipeline[:-1].get_feature_names_out()))


@exits_cleanly
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="+", choices=list(MODEL_PARAMS))
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--splits", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--plots", type=Path, required=True)
    args = parser.parse_args()

    splits = {split: load_split(args.splits, split) for split in SCORED_SPLITS}
    scores: dict[str, dict] = {}
    with atomic_path(args.plots) as plots:
        (plots / "predictions").mkdir(parents=True)
        (plots / "importance").mkdir()
        for name in args.names:
            folder = args.models / name
            if not (folder / "MLmodel").is_file():
                raise StageError(f"{folder}: no MLflow model here; run the train@{name} stage first")
            model = mlflow.pyfunc.load_model(str(folder))
            predicted = {split: np.asarray(model.predict(X)).ravel() for split, (X, _) in splits.items()}
            scores[name] = {split: regression_scores(y, predicted[split]) for split, (_, y) in splits.items()}

            actual = splits["test"][1].to_numpy()
            pd.DataFrame(
                {"actual": actual, "predicted": predicted["test"], "residual": predicted["test"] - actual}
            ).round(5).to_csv(plots / "predictions" / f"{name}.csv", index=False)
            importance = importance_of(model)
            if importance is not None:
                importance.rename_axis("feature").rename("importance").round(5).reset_index().to_csv(
                    plots / "importance" / f"{name}.csv", index=False
                )
            val, test = scores[name]["val"]["rmse"], scores[name]["test"]["rmse"]
            print(f"evaluate {name}: val RMSE {val:.4f}, test RMSE {test:.4f}")
    write_json(args.metrics, scores)


if __name__ == "__main__":
    main()
