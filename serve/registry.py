"""What the tracking store says, for the dashboard: the registered versions, and the MLP's loss curves;
and `create_store`, which every worker calls before its first use of the store.

Both are read with the server's own MlflowClient on each request (the registry is the source of
truth, and these pages are looked at by people, not polled by load balancers). A store that cannot
be reached gives an answer with the reason, not an error page.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from housing.names import EPOCH_TRAIN_LOSS, EPOCH_VAL_RMSE, MLP_FAMILY, MODEL_FAMILY, TARGET_TRANSFORM_PARAM
from serve.payloads import EpochLoss, RegisteredVersion, RegistryModels, TrainingLoss
from serve.prediction_log import lock_beside

LOSS_METRICS = {"train_loss": EPOCH_TRAIN_LOSS, "val_rmse": EPOCH_VAL_RMSE}
"""EpochLoss field: the MLflow metric stages.train logs for it."""
MLP_RUNS = f"tags.{MODEL_FAMILY} = '{MLP_FAMILY}'"
NEWEST_FIRST = "attributes.start_time DESC"
STORE_LOCK = 7_337_002
"""PostgreSQL advisory lock id under which one process at a time creates MLflow's store."""


def create_store(tracking_uri: str) -> None:
    """Create an MLflow database store that does not exist yet, one process at a time.

    MLflow creates a missing SQL store when a client first opens it, and migrates its schema with no
    lock of its own: gunicorn's workers, and replicas sharing the database, starting together on no
    store run that migration at once, and the losers fail to boot ("duplicate column name"). Under a
    lock (a file beside an SQLite store, an advisory lock on PostgreSQL) the first one creates it and
    the others find it there. Other stores (a tracking server, files) are left as they were.
    """
    backend = make_url(tracking_uri).get_backend_name() if tracking_uri.startswith(("sqlite:", "postgresql")) else None
    if backend == "sqlite":
        database = make_url(tracking_uri).database
        if database and database != ":memory:":
            with lock_beside(Path(database)):
                _open_store(tracking_uri)
    elif backend == "postgresql":
        with _advisory_lock(tracking_uri):
            _open_store(tracking_uri)


def _open_store(tracking_uri: str) -> None:
    MlflowClient(tracking_uri, tracking_uri).search_registered_models(max_results=1)


@contextmanager
def _advisory_lock(database_url: str) -> Iterator[None]:
    """PostgreSQL's session lock STORE_LOCK, held on a connection of its own while the block runs."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:lock)"), {"lock": STORE_LOCK})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:lock)"), {"lock": STORE_LOCK})
    finally:
        engine.dispose()


def _moment(milliseconds: int | None) -> str:
    if milliseconds is None:
        return ""
    return datetime.fromtimestamp(milliseconds / 1000, UTC).isoformat(timespec="seconds")


def _score(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


class Registry:
    def __init__(self, tracking_uri: str, model_name: str):
        self.client = MlflowClient(tracking_uri)
        self.model_name = model_name

    def versions(self) -> RegistryModels:
        """Every registered version, newest first, with its aliases and the scores recorded at registration."""
        try:
            found = self.client.search_model_versions(f"name = '{self.model_name}'", order_by=["version_number DESC"])
            aliases = self.client.get_registered_model(self.model_name).aliases if found else {}
        except MlflowException as error:
            return RegistryModels(name=self.model_name, versions=[], problem=str(error).splitlines()[0])
        named: dict[int, list[str]] = {}
        for alias, number in aliases.items():
            named.setdefault(int(number), []).append(alias)
        return RegistryModels(name=self.model_name, versions=[self._version(version, named) for version in found])

    def _version(self, version: ModelVersion, named: dict[int, list[str]]) -> RegisteredVersion:
        """The register stage tags a version with its scores (plain names, numbers) and lineage (dotted names)."""
        tags = dict(version.tags)
        family = tags.pop(MODEL_FAMILY, None)
        scores = {name: _score(value) for name, value in tags.items() if "." not in name}
        metrics = {name: score for name, score in scores.items() if score is not None}
        return RegisteredVersion(
            version=int(version.version),
            aliases=sorted(named.get(int(version.version), [])),
            created_at=_moment(version.creation_timestamp),
            run_id=version.run_id,
            model_family=family,
            metrics=metrics,
            tags={name: value for name, value in tags.items() if name not in metrics},
        )

    def training_loss(self) -> TrainingLoss:
        """The latest MLP run's per-epoch training loss and validation RMSE."""
        try:
            experiments = [experiment.experiment_id for experiment in self.client.search_experiments()]
            runs = self.client.search_runs(experiments, MLP_RUNS, order_by=[NEWEST_FIRST], max_results=1)
            if not runs:
                return TrainingLoss(problem="no MLP training run in the tracking store yet")
            run = runs[0]
            histories = {
                field: {point.step: point.value for point in self.client.get_metric_history(run.info.run_id, metric)}
                for field, metric in LOSS_METRICS.items()
            }
        except MlflowException as error:
            return TrainingLoss(problem=str(error).splitlines()[0])
        steps = sorted(set().union(*histories.values()))
        epochs = [
            EpochLoss(epoch=step, **{field: points.get(step) for field, points in histories.items()}) for step in steps
        ]
        problem = None if epochs else f"run {run.info.run_id} logged no per-epoch losses (trained before they were)"
        return TrainingLoss(
            run_id=run.info.run_id,
            run_name=run.info.run_name,
            started_at=_moment(run.info.start_time),
            target_transform=run.data.params.get(TARGET_TRANSFORM_PARAM),
            epochs=epochs,
            problem=problem,
        )
