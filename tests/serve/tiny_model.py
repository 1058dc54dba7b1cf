"""Register a tiny model the way the pipeline does: `python -m tests.serve.tiny_model STORE_URI NAME [ALIAS]`.

Runs in its own process so the test process keeps no MLflow global state. The model is the real
train-stage pipeline (features inside, raw rows in), fitted on generated data in a second.
"""

from __future__ import annotations

import os
import sys

import mlflow

from stages.models import fit_pipeline
from stages.params import FeatureParams, LinearParams
from stages.schema import FEATURES, TARGET, TARGET_SCALE
from stages.tracking import configure_tracking
from stages.train import log_pipeline
from tests.synthetic import housing_frame


def register_tiny_model(uri: str, name: str, alias: str | None) -> int:
    os.environ["MLFLOW_TRACKING_URI"] = uri
    configure_tracking("tiny")  # artifacts beside the store's database, never a ./mlruns in the cwd
    frame = housing_frame(300, seed=1)
    X, y = frame[FEATURES], frame[TARGET].to_numpy() / TARGET_SCALE
    features = FeatureParams(neighbours=[3, 8], folds=3, log_target=True)
    with mlflow.start_run(run_name="tiny linear"):
        pipeline, _ = fit_pipeline("linear", LinearParams(alpha=1.0), features, "cpu", 0, X, y, X, y)
        logged = log_pipeline(pipeline, "linear", X.head(3), train_sha256="0" * 64)
    version = mlflow.register_model(logged.model_uri, name, tags={"val_rmse": "0.5"})
    if alias:
        mlflow.MlflowClient().set_registered_model_alias(name, alias, version.version)
    return int(version.version)


if __name__ == "__main__":
    print(register_tiny_model(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None))
