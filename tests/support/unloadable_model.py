"""A champion this code cannot load: what the server refuses (503, naming the retrain), register replaces
and the retrain command counts as a reason to retrain.

Its pipeline's feature step is a class of MISSING_MODULE, a module this repository does not have, and
the model carries no code: loading it fails on that import, as it would for any model built by code
that this checkout lacks."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import mlflow
import pandas as pd
import skops.io
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline

from tests.support.project import in_forked_child
from tests.support.synthetic import housing_frame

MISSING_MODULE = "stages.features"


class ForeignFeatures(TransformerMixin, BaseEstimator):
    """Raw rows in, two numeric columns out; saved as a class of MISSING_MODULE."""

    __module__ = MISSING_MODULE

    def fit(self, raw: pd.DataFrame, y: object = None) -> ForeignFeatures:
        return self

    def transform(self, raw: pd.DataFrame) -> object:
        return raw[["median_income", "housing_median_age"]].to_numpy(dtype=float)


def _register(store_uri: str, name: str, artifacts: Path) -> int:
    """In a forked child, where MISSING_MODULE exists for the time it takes to save the model (skops saves
    only classes it can import) and MLflow's process-wide tracking URI and active run die with it."""
    missing = types.ModuleType(MISSING_MODULE)
    missing.ForeignFeatures = ForeignFeatures
    sys.modules[MISSING_MODULE] = missing
    frame = housing_frame(100)
    pipeline = Pipeline([("features", ForeignFeatures()), ("model", Ridge())])
    pipeline.fit(frame, frame["median_house_value"] / 1e5)
    mlflow.set_tracking_uri(store_uri)
    mlflow.set_experiment(experiment_id=mlflow.create_experiment("unloadable", artifact_location=artifacts.as_uri()))
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            pipeline,
            name="model",
            pip_requirements=[],
            skops_trusted_types=skops.io.get_untrusted_types(data=skops.io.dumps(pipeline)),
        )
    version = mlflow.register_model(info.model_uri, name)
    mlflow.MlflowClient().set_registered_model_alias(name, "champion", version.version)
    return int(version.version)


def register_unloadable_champion(store_uri: str, name: str, scratch: Path) -> int:
    """Register a model this code cannot load as `name`'s champion in `store_uri`; return its version."""
    return in_forked_child(_register, store_uri, name, scratch / "unloadable-artifacts")
