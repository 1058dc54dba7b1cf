"""Register a tiny model the way the pipeline does: `python -m tests.serve.tiny_model STORE_URI NAME [ALIAS]`.

Runs in its own process so the test process keeps no MLflow global state. The model is the real
train-stage pipeline (features inside, raw rows in), fitted on generated data in a second;
`--seed` fits it on another sample (another version that predicts other values), `--failing`
registers a model that loads but raises on every prediction.
"""

from __future__ import annotations

import argparse
import os

import mlflow
from sklearn.base import BaseEstimator, RegressorMixin

from stages.models import fit_pipeline
from stages.params import FeatureParams, LinearParams
from stages.schema import FEATURES, TARGET, TARGET_SCALE
from stages.tracking import configure_tracking
from stages.train import log_pipeline
from tests.synthetic import housing_frame


class FailingModel(RegressorMixin, BaseEstimator):
    """A version that loads and then fails at predict time, like one pickled against other code."""

    def fit(self, X, y=None) -> FailingModel:
        return self

    def predict(self, X):
        raise RuntimeError("this model always fails")


def register_tiny_model(uri: str, name: str, alias: str | None, seed: int = 1, failing: bool = False) -> int:
    os.environ["MLFLOW_TRACKING_URI"] = uri
    configure_tracking("tiny")  # artifacts beside the store's database, never a ./mlruns in the cwd
    with mlflow.start_run(run_name="tiny failing" if failing else "tiny linear"):
        if failing:
            logged = mlflow.sklearn.log_model(
                FailingModel(), name="model", serialization_format="cloudpickle", pip_requirements=[]
            )
        else:
            frame = housing_frame(300, seed=seed)
            X, y = frame[FEATURES], frame[TARGET].to_numpy() / TARGET_SCALE
            features = FeatureParams(neighbours=[3, 8], folds=3, target_transform="sqrt")
            pipeline, _ = fit_pipeline("linear", LinearParams(alpha=1.0), features, "cpu", 0, X, y, X, y)
            logged = log_pipeline(pipeline, "linear", X.head(3), train_sha256="0" * 64)
    version = mlflow.register_model(logged.model_uri, name, tags={"val_rmse": "0.5"})
    if alias:
        mlflow.MlflowClient().set_registered_model_alias(name, alias, version.version)
    return int(version.version)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store_uri")
    parser.add_argument("name")
    parser.add_argument("alias", nargs="?")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--failing", action="store_true")
    args = parser.parse_args()
    print(register_tiny_model(args.store_uri, args.name, args.alias, args.seed, args.failing))
