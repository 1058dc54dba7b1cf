"""train: fit one model family on the train split and save it as an MLflow model that takes raw rows.

    python -m stages.train xgboost --splits data/processed --out models/xgboost --report reports/train/xgboost.json

The saved model is a scikit-learn Pipeline: the fitted HousingFeatures preprocessing, then the
regressor (wrapped in SqrtTargetRegressor or LogTargetRegressor by `features.target_transform`),
fitted here or, with `engine: dask`, on a Dask cluster (stages.dask_engine). It is logged to MLflow
in a run of its own, with system metrics, and the same files are written to `--out` for DVC;
`--report` gets the fit's time, engine, scores and hardware telemetry. The run's params are logged
before the fit and the MLP's epochs while it trains (EpochLog), so a running fit can be watched.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import mlflow
from mlflow.entities import Metric
from mlflow.utils.validation import MAX_METRICS_PER_BATCH

from housing.mlp import epochs_reported_to
from housing.names import EPOCH_SAMPLES_PER_S, EPOCH_TRAIN_LOSS, EPOCH_VAL_RMSE, MODEL_FAMILY, feature_param
from housing.scores import regression_scores
from stages.atomic import write_json
from stages.dask_engine import DASK_FIT, training_engine
from stages.device import resolve_device
from stages.errors import exits_cleanly
from stages.families import fit_pipeline
from stages.logged_model import log_and_save
from stages.params import (
    MODEL_PARAMS,
    DaskParams,
    Device,
    Engine,
    FeatureParams,
    MlflowParams,
    load_family_params,
    load_params,
)
from stages.splits import load_training_data
from stages.telemetry import fit_telemetry
from stages.tracking import configure_tracking, lineage_tags


def log_safe(telemetry: dict, text: bool) -> dict:
    """The telemetry's text entries (device, driver: params) or its numbers (metrics)."""
    return {key: value for key, value in telemetry.items() if isinstance(value, str) == text}


EPOCH_METRICS = (EPOCH_SAMPLES_PER_S, EPOCH_TRAIN_LOSS, EPOCH_VAL_RMSE)
"""The MLP's per-epoch MLflow metrics (other families have no epochs); the Retrain page draws the two losses."""
EPOCH_FLUSH_S = 2.0


class EpochLog:
    """Logs the MLP's epochs to a run as they end: the first at once, then those of every EPOCH_FLUSH_S
    seconds together, and the rest when the fit is done. The dashboard's loss chart grows while the MLP
    trains, and an epoch of milliseconds (tiny data, a GPU) costs no write of its own."""

    def __init__(self, run_id: str):
        self.run_id = run_id
        self.pending: list[Metric] = []
        self.flushed_at: float | None = None  # no reading yet: time.monotonic() counts from boot

    def __call__(self, epoch: int, figures: dict[str, float]) -> None:
        now = int(time.time() * 1000)
        self.pending += [Metric(name, figures[name], now, epoch) for name in EPOCH_METRICS]
        if self.flushed_at is None or time.monotonic() - self.flushed_at >= EPOCH_FLUSH_S:
            self.flush()

    def flush(self) -> None:
        """Write the pending epochs, in as few writes as MLflow takes."""
        client = mlflow.tracking.MlflowClient()
        for start in range(0, len(self.pending), MAX_METRICS_PER_BATCH):
            client.log_batch(self.run_id, metrics=self.pending[start : start + MAX_METRICS_PER_BATCH])
        self.pending = []
        self.flushed_at = time.monotonic()


@exits_cleanly
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=list(MODEL_PARAMS))
    parser.add_argument("--splits", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--report", type=Path, required=True)
    args = parser.parse_args()
    seed = load_params("seed", int)
    device = resolve_device(load_params("device", Device))
    features = load_params("features", FeatureParams)
    model_params = load_family_params(args.model)
    tracking = load_params("mlflow", MlflowParams)
    engine = load_params("engine", Engine)
    cluster = load_params("dask", DaskParams)
    engine = engine if args.model in DASK_FIT else "local"

    data = load_training_data(args.splits)
    configure_tracking(tracking.experiment)
    mlflow.set_system_metrics_sampling_interval(1)
    mlflow.set_system_metrics_samples_before_logging(1)
    with mlflow.start_run(
        run_name=args.model, log_system_metrics=True, tags={**lineage_tags(), MODEL_FAMILY: args.model}
    ) as run:
        mlflow.log_params({MODEL_FAMILY: args.model, "seed": seed, "engine": engine})
        mlflow.log_params({feature_param(key): value for key, value in features.model_dump().items()})
        mlflow.log_params({f"train.{args.model}.{key}": value for key, value in model_params.model_dump().items()})
        epochs = EpochLog(run.info.run_id)
        with (
            training_engine(engine, args.model, cluster) as fit,
            fit_telemetry(device) as telemetry,
            epochs_reported_to(epochs),
        ):
            started = time.perf_counter()
            pipeline, train_predicted = fit_pipeline(args.model, model_params, features, device, seed, data, fit=fit)
            fit_seconds = time.perf_counter() - started
        epochs.flush()
        scores: dict[str, Any] = {  # the JSON report
            "engine": engine,
            "fit_seconds": round(fit_seconds, 3),
            "train_samples_per_s": round(len(data.X) / fit_seconds, 1),
            "train": regression_scores(data.y, train_predicted),
            "val": regression_scores(data.y_val, pipeline.predict(data.X_val)),
            "telemetry": telemetry,
        }
        mlflow.log_params(log_safe(telemetry, text=True))
        mlflow.log_metrics(log_safe(telemetry, text=False))
        mlflow.log_metrics({"fit_seconds": scores["fit_seconds"], "train_samples_per_s": scores["train_samples_per_s"]})
        mlflow.log_metrics(
            {f"{part}_{name}": value for part in ("train", "val") for name, value in scores[part].items()}
        )
        log_and_save(pipeline, args.model, data.X.head(3), args.splits, args.out)
    write_json(args.report, scores)
    where = f"{device}, engine {engine}"
    print(f"train {args.model}: val RMSE {scores['val']['rmse']:.4f} in {fit_seconds:.1f}s on {where}")


if __name__ == "__main__":
    main()
