"""What the tracking store says, for the dashboard's Models and Retrain pages: the registered versions,
the candidates of the latest pipeline run side by side, and the latest MLP run's loss curves, with
the schemas of these answers.

Both are read with the server's own MlflowClient on each request (the registry is the source of
truth, and these pages are looked at by people, not polled by load balancers). A store that cannot
be reached gives an answer with the reason, not an error page.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from mlflow.entities import Run, RunStatus
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from pydantic import BaseModel, Field

from housing.names import (
    EPOCH_TRAIN_LOSS,
    EPOCH_VAL_RMSE,
    EVALUATED_AT,
    EVALUATION_CANDIDATES,
    EVALUATION_ID,
    EVALUATION_SELECTED,
    INTERVAL_METRICS,
    MLP_FAMILY,
    MODEL_FAMILY,
    TARGET_TRANSFORM_PARAM,
)

LOSS_METRICS = {"train_loss": EPOCH_TRAIN_LOSS, "val_rmse": EPOCH_VAL_RMSE}
"""EpochLoss field: the MLflow metric stages.train logs for it."""
MLP_RUNS = f"tags.{MODEL_FAMILY} = '{MLP_FAMILY}'"
NEWEST_FIRST = "attributes.start_time DESC"
EVALUATED_RUNS = f"tags.`{EVALUATION_ID}` != ''"
LATEST_EVALUATION_FIRST = f"tags.`{EVALUATED_AT}` DESC"
NO_PIPELINE_RUN = (
    "no pipeline run in the tracking store yet: run `make repro` (it trains every candidate, evaluates them"
    " and logs their figures here)"
)
SCORES = ("val_rmse", "val_mae", "val_r2", "test_rmse", "test_mae", "test_r2")
"""The evaluate stage's scores: its metrics/<candidate>.json keys, which it logs under the same names."""
TELEMETRY = (
    "gpu_utilisation_mean_pct",
    "gpu_memory_peak_mb",
    "gpu_power_mean_w",
    "gpu_temperature_max_c",
    "torch_peak_memory_mb",
    "process_peak_rss_mb",
)
"""The fit's hardware figures stages/telemetry.py measures and the train stage logs as metrics (the GPU's
only on CUDA); its text ones (device, device_name) are params."""


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


class Interval(BaseModel):
    difference: float = Field(
        description="Test RMSE of this candidate minus the selected one's, in $100,000: positive when the"
        " selected one is better."
    )
    low: float = Field(description="The paired bootstrap's 95% interval of that difference: its low end.")
    high: float = Field(description="Its high end.")
    noise: bool = Field(description="The interval covers 0: on this many test rows the two cannot be told apart.")


class CandidateRun(BaseModel):
    """One candidate of a pipeline run: its training run, with the figures the evaluate stage logged to it."""

    candidate: str = Field(description="The model family, or blend.")
    selected: bool = Field(description="Validation chose it: the candidate the register stage registers.")
    run_id: str
    run_name: str
    experiment_id: str
    status: str = Field(description="MLflow's run status: RUNNING, FINISHED, FAILED or KILLED.")
    started_at: str
    link: str = Field(description="The run in the MLflow UI (the server's SERVE_MLFLOW_UI_URL).")
    params: dict[str, str] = Field(
        description="The candidate's own params, without their prefix: train.<family>.* (blend.* for the blend)."
    )
    val_rmse: float | None = Field(description="On the validation split, as served, in $100,000.")
    val_mae: float | None
    val_r2: float | None
    test_rmse: float | None = Field(description="On the test split, which chooses nothing, in $100,000.")
    test_mae: float | None
    test_r2: float | None
    interval: Interval | None = Field(description="Its test RMSE against the selected candidate's; none for that one.")
    fit_seconds: float | None
    device: str | None = Field(description="cpu or cuda, as the train stage resolved it; none for the blend.")
    device_name: str | None = Field(description="The GPU's or the CPU's name.")
    telemetry: dict[str, float] = Field(
        description="The fit's hardware figures as logged: GPU utilisation, memory, power and temperature on"
        " CUDA, and the process's peak memory."
    )


class PipelineRun(BaseModel):
    """The candidates of the latest pipeline run that the evaluate stage logged, side by side."""

    evaluation_id: str | None = None
    evaluated_at: str | None = None
    selected: str | None = Field(default=None, description="The candidate validation chose.")
    candidates: list[CandidateRun] = Field(default_factory=list, description="In the order evaluate scored them.")
    missing: list[str] = Field(
        default_factory=list,
        description="Candidates of that evaluation whose training run this store does not hold (DVC restored"
        " their train stage from its run cache, or the models were pulled): their figures are in"
        " metrics/<candidate>.json only.",
    )
    problem: str | None = Field(default=None, description="Why there is no pipeline run to show.")


def _moment(milliseconds: int | None) -> str:
    if milliseconds is None:
        return ""
    return datetime.fromtimestamp(milliseconds / 1000, UTC).isoformat(timespec="seconds")


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0]


def _own_params(run: Run, candidate: str) -> dict[str, str]:
    """The params a candidate's section of params.yaml gave its run, without the section's prefix."""
    prefixes = (f"train.{candidate}.", f"{candidate}.")
    return {
        name.removeprefix(prefix): value
        for name, value in run.data.params.items()
        for prefix in prefixes
        if name.startswith(prefix)
    }


def _interval(metrics: dict[str, float]) -> Interval | None:
    if INTERVAL_METRICS["difference"] not in metrics:
        return None
    figures = {field: metrics[name] for field, name in INTERVAL_METRICS.items()}
    return Interval.model_validate({**figures, "noise": bool(figures["noise"])})


def _no_epochs(run: Run) -> str:
    """Why a run has no curve: still training, or it ended without logging any."""
    if run.info.status == RunStatus.to_string(RunStatus.RUNNING):
        return f"run {run.info.run_id} is training; no epoch logged yet"
    return f"run {run.info.run_id} ({run.info.status.lower()}) logged no per-epoch losses"


def _candidate_run(run: Run, candidate: str, selected: bool, mlflow_ui: str) -> CandidateRun:
    """A candidate's training run with what the evaluate stage logged to it, linked to its page in the MLflow UI."""
    info, metrics, params = run.info, run.data.metrics, run.data.params
    return CandidateRun(
        candidate=candidate,
        selected=selected,
        run_id=info.run_id,
        run_name=info.run_name,
        experiment_id=info.experiment_id,
        status=info.status,
        started_at=_moment(info.start_time),
        link=f"{mlflow_ui.rstrip('/')}/#/experiments/{info.experiment_id}/runs/{info.run_id}",
        params=_own_params(run, candidate),
        **{name: metrics.get(name) for name in SCORES},
        interval=_interval(metrics),
        fit_seconds=metrics.get("fit_seconds"),
        device=params.get("device"),
        device_name=params.get("device_name"),
        telemetry={name: metrics[name] for name in TELEMETRY if name in metrics},
    )


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
            return RegistryModels(name=self.model_name, versions=[], problem=_first_line(error))
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

    def _experiment_ids(self) -> list[str]:
        return [experiment.experiment_id for experiment in self.client.search_experiments()]

    def pipeline_run(self, mlflow_ui: str) -> PipelineRun:
        """The candidates of the latest evaluation: their training runs, which the evaluate stage tagged
        with one evaluation id and gave their test scores and intervals; each linked to `mlflow_ui`."""
        try:
            experiments = self._experiment_ids()
            latest = self.client.search_runs(
                experiments, EVALUATED_RUNS, order_by=[LATEST_EVALUATION_FIRST], max_results=1
            )
            if not latest:
                return PipelineRun(problem=NO_PIPELINE_RUN)
            tags = latest[0].data.tags
            runs = self.client.search_runs(experiments, f"tags.`{EVALUATION_ID}` = '{tags[EVALUATION_ID]}'")
        except MlflowException as error:
            return PipelineRun(problem=_first_line(error))
        found = {run.data.tags.get(MODEL_FAMILY): run for run in runs}
        candidates = tags[EVALUATION_CANDIDATES].split(",")
        selected = tags[EVALUATION_SELECTED]
        return PipelineRun(
            evaluation_id=tags[EVALUATION_ID],
            evaluated_at=tags[EVALUATED_AT],
            selected=selected,
            candidates=[
                _candidate_run(found[name], name, name == selected, mlflow_ui) for name in candidates if name in found
            ],
            missing=[name for name in candidates if name not in found],
        )

    def training_loss(self) -> TrainingLoss:
        """The latest MLP run's per-epoch training loss and validation RMSE."""
        try:
            experiments = self._experiment_ids()
            runs = self.client.search_runs(experiments, MLP_RUNS, order_by=[NEWEST_FIRST], max_results=1)
            if not runs:
                return TrainingLoss(problem="no MLP training run in the tracking store yet")
            run = runs[0]
            histories = {
                field: {point.step: point.value for point in self.client.get_metric_history(run.info.run_id, metric)}
                for field, metric in LOSS_METRICS.items()
            }
        except MlflowException as error:
            return TrainingLoss(problem=_first_line(error))
        steps = sorted(set().union(*histories.values()))
        epochs = [
            EpochLoss(epoch=step, **{field: points.get(step) for field, points in histories.items()}) for step in steps
        ]
        problem = None if epochs else _no_epochs(run)
        return TrainingLoss(
            run_id=run.info.run_id,
            run_name=run.info.run_name,
            started_at=_moment(run.info.start_time),
            target_transform=run.data.params.get(TARGET_TRANSFORM_PARAM),
            epochs=epochs,
            problem=problem,
        )
