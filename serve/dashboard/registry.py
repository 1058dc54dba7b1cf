"""What the tracking store says, for the dashboard's Models and Retrain pages: the registered versions,
and the latest MLP run's loss curves, with the schemas of both answers.

Both are read with the server's own MlflowClient on each request (the registry is the source of
truth, and these pages are looked at by people, not polled by load balancers). A store that cannot
be reached gives an answer with the reason, not an error page.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from pydantic import BaseModel, Field

from housing.names import EPOCH_TRAIN_LOSS, EPOCH_VAL_RMSE, MLP_FAMILY, MODEL_FAMILY, TARGET_TRANSFORM_PARAM

LOSS_METRICS = {"train_loss": EPOCH_TRAIN_LOSS, "val_rmse": EPOCH_VAL_RMSE}
"""EpochLoss field: the MLflow metric stages.train logs for it."""
MLP_RUNS = f"tags.{MODEL_FAMILY} = '{MLP_FAMILY}'"
NEWEST_FIRST = "attributes.start_time DESC"


class RegisteredVersion(BaseModel):
    version: int
    aliases: list[str]
    created_at: str
    run_id: str | None
    model_family: str | None
    metrics: dict[str, float] = Field(description="Scores the register stage recorded (tags of the version).")
    tags: dict[str, str] = Field(description="Every other tag: lineage, data hash, commit.")


class RegistryModels(BaseModel):
    name: str
    versions: list[RegisteredVersion] = Field(description="Newest first.")
    problem: str | None = Field(default=None, description="Why the registry could not be read.")


class EpochLoss(BaseModel):
    epoch: int
    train_loss: float | None = Field(description="Mean batch MSE on the standardised target.")
    val_rmse: float | None = Field(
        description="Validation RMSE on the target the MLP is fitted to: target_transform of the price in $100,000."
    )


class TrainingLoss(BaseModel):
    """The per-epoch losses of the latest MLP training run in the tracking store."""

    run_id: str | None = None
    run_name: str | None = None
    started_at: str | None = None
    target_transform: str | None = Field(
        default=None, description="The run's features.target_transform: sqrt, log or none."
    )
    epochs: list[EpochLoss] = Field(default_factory=list)
    problem: str | None = Field(default=None, description="Why there is no curve to show.")


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
