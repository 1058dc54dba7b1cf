"""MLflow stores for the tests: a fresh one from a pre-migrated copy, and what a store holds read back
(registered versions loaded as evaluate loads models, logged runs), with no global MLflow state."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from housing.names import DEFAULT_MODEL_NAME

if TYPE_CHECKING:
    import mlflow

MODEL_NAME = DEFAULT_MODEL_NAME
"""The registered model the tests' stores and repositories hold (params.yaml's register.model_name)."""


def fresh_store(directory: Path, migrated_store: Path) -> str:
    """A new SQLite store in `directory`, copied from one whose schema is migrated (migration costs seconds)."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(migrated_store, directory / "mlflow.db")
    return f"sqlite:///{directory / 'mlflow.db'}"


def registered_model(store_uri: str, name: str, alias: str) -> mlflow.pyfunc.PyFuncModel:
    """The version `alias` names, loaded through pyfunc as evaluate loads models (no global MLflow state)."""
    import mlflow

    return registered_version(
        store_uri, name, mlflow.MlflowClient(store_uri).get_model_version_by_alias(name, alias).version
    )


def registered_version(store_uri: str, name: str, version: int | str) -> mlflow.pyfunc.PyFuncModel:
    """A registered version, loaded as registered_model loads one."""
    import mlflow

    location = mlflow.MlflowClient(store_uri, store_uri).get_model_version_download_uri(name, str(version))
    return mlflow.pyfunc.load_model(mlflow.artifacts.download_artifacts(location, tracking_uri=store_uri))


def logged_runs(store_uri: str, experiment: str, filter_string: str = "") -> list[mlflow.entities.Run]:
    """The runs of `experiment` in the store, filtered as MlflowClient.search_runs filters."""
    import mlflow

    client = mlflow.MlflowClient(store_uri)
    return client.search_runs([client.get_experiment_by_name(experiment).experiment_id], filter_string)
