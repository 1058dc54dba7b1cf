"""Register a tiny model the way the pipeline does (tests.support.serving.register_version runs this in a
forked child, so the test process keeps no MLflow global state and pays no imports).

The model is the real train-stage pipeline (features inside, raw rows in), fitted on generated data
in a second; `seed` fits it on another sample (another version that predicts other values),
`failing` registers a model that loads but raises on every prediction. Its golden set (housing.golden)
ships with it as register ships one, unless `golden` is "none", or "tampered" (one recorded
prediction off by one ulp, which no exact path can match).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Literal

import mlflow
import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.pipeline import Pipeline

from housing.golden import GOLDEN_FILE, PREDICTION, golden_rows
from housing.schema import RAW_COLUMNS, TARGET, TARGET_SCALE
from stages.families import fit_pipeline
from stages.logged_model import log_pipeline
from stages.params import LinearParams
from stages.splits import TrainingData
from stages.tracking import configure_tracking
from tests.support.params import tiny_features
from tests.support.synthetic import housing_frame


class FailingModel(RegressorMixin, BaseEstimator):
    """A version that loads and then fails at predict time, like one pickled against other code."""

    def fit(self, X, y=None) -> FailingModel:
        return self

    def predict(self, X):
        raise RuntimeError("this model always fails")


Golden = Literal["shipped", "none", "tampered"]


def add_golden_set(model_id: str, pipeline: Pipeline, X, golden: Golden) -> None:
    rows = golden_rows(X.head(40))
    predicted = pipeline.predict(rows)
    if golden == "tampered":
        predicted[0] = np.nextafter(predicted[0], np.inf)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / GOLDEN_FILE
        rows.assign(**{PREDICTION: predicted}).to_parquet(path, index=False)
        mlflow.MlflowClient().log_model_artifact(model_id, str(path))


def register_tiny_model(
    uri: str, name: str, alias: str | None, seed: int = 1, failing: bool = False, golden: Golden = "shipped"
) -> int:
    os.environ["MLFLOW_TRACKING_URI"] = uri
    configure_tracking("tiny")  # artifacts beside the store's database, never a ./mlruns in the cwd
    with mlflow.start_run(run_name="tiny failing" if failing else "tiny linear"):
        if failing:
            logged = mlflow.sklearn.log_model(
                FailingModel(), name="model", serialization_format="cloudpickle", pip_requirements=[]
            )
        else:
            frame = housing_frame(300, seed=seed)
            X, y = frame[RAW_COLUMNS], frame[TARGET].to_numpy() / TARGET_SCALE
            training = TrainingData(X, y, X, y)
            pipeline, _ = fit_pipeline("linear", LinearParams(alpha=1.0), tiny_features(), "cpu", 0, training)
            logged = log_pipeline(pipeline, "linear", X.head(3), train_sha256="0" * 64)
            if golden != "none":
                add_golden_set(logged.model_id, pipeline, X, golden)
    version = mlflow.register_model(logged.model_uri, name, tags={"val_rmse": "0.5"})
    if alias:
        mlflow.MlflowClient().set_registered_model_alias(name, alias, version.version)
    return int(version.version)
