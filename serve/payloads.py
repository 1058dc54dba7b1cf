"""What the API accepts and answers, as pydantic models: they validate requests and make /openapi.json.

Records are the pipeline's own HousingRow, imported rather than copied, so the API rejects exactly
what preprocess rejects.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

import numpy as np
from flask import Response
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from housing.fast import columns_of
from housing.schema import RAW_COLUMNS, HousingRow, OceanProximity

_records = TypeAdapter(list[HousingRow])

Role = Literal["champion", "challenger", "shadow"]
"""Who produced a prediction: the champion or the challenger answered it, or the challenger predicted
in the shadow of the champion's answer (logged, never returned)."""


class ErrorDetail(BaseModel):
    field: str = Field(description="Where the problem is: a field name, `[row].field`, `body` or a parameter.")
    message: str


class ErrorResponse(BaseModel):
    error: str
    details: list[ErrorDetail] = []


class RequestError(Exception):
    """A request the API refuses: an HTTP status and an ErrorResponse body."""

    def __init__(self, status: int, error: str, details: list[ErrorDetail] | None = None):
        super().__init__(error)
        self.status = status
        self.body = ErrorResponse(error=error, details=details or [])


class PredictRequest(RootModel[HousingRow | Annotated[list[HousingRow], Field(min_length=1)]]):
    """One raw record, or a non-empty list of them (at most SERVE_MAX_BATCH)."""


class ModelRef(BaseModel):
    name: str
    version: int
    alias: str

    @classmethod
    def of(cls, model: Any) -> ModelRef:
        """The reference to a served model (serve.watcher.ServedModel, which this module cannot import)."""
        return cls(name=model.name, version=model.version, alias=model.alias)


class Prediction(BaseModel):
    median_house_value: float = Field(description="Predicted median house value of the block, dollars.")


class PredictResponse(BaseModel):
    request_id: str
    model: ModelRef
    predictions: list[Prediction] = Field(description="One per record, in request order.")


class DataframeSplit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    columns: list[str]
    data: list[list[Any]] = Field(min_length=1)
    index: list[Any] | None = None


Records = Annotated[list[dict[str, Any]], Field(min_length=1)]
Columns = dict[str, list[Any]]
"""TensorFlow-serving style input as MLflow reads it: a list of records, or a list of values per column."""


class InvocationsRequest(BaseModel):
    """MLflow's scoring-server request: exactly one of dataframe_records, dataframe_split, instances or
    inputs, and optionally params."""

    model_config = ConfigDict(extra="forbid")

    dataframe_records: Records | None = None
    dataframe_split: DataframeSplit | None = None
    instances: Records | Columns | None = None
    inputs: Records | Columns | None = None
    params: dict[str, Any] | None = Field(
        default=None,
        description="Accepted and ignored, as MLflow ignores params that the model's signature declares no schema for.",
    )

    def formats(self) -> list[str]:
        """The input formats the request gives (a valid one gives exactly one)."""
        return [name for name in INVOCATION_FORMATS if getattr(self, name) is not None]

    @model_validator(mode="after")
    def exactly_one_format(self) -> InvocationsRequest:
        given = self.formats()
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(INVOCATION_FORMATS)} (got {given or 'none'})")
        return self

    def records(self) -> list[dict[str, Any]]:
        if self.dataframe_split is not None:
            split = self.dataframe_split
            return _zipped("dataframe_split.data", split.columns, split.data)
        [name] = self.formats()
        data = getattr(self, name)
        if isinstance(data, dict):
            lengths = {len(values) for values in data.values()}
            if len(lengths) != 1:
                detail = ErrorDetail(field=name, message="every column needs the same number of values")
                raise RequestError(422, "invalid request", [detail])
            return _zipped(name, list(data), [list(values) for values in zip(*data.values(), strict=True)])
        return data


INVOCATION_FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")


def _zipped(field: str, columns: list[str], rows: list[list[Any]]) -> list[dict[str, Any]]:
    for position, values in enumerate(rows):
        if len(values) != len(columns):
            detail = ErrorDetail(field=f"{field}[{position}]", message="row length differs from columns")
            raise RequestError(422, "invalid request", [detail])
    return [dict(zip(columns, values, strict=True)) for values in rows]


class MlflowError(BaseModel):
    """MLflow's error body, which /invocations answers with (as `mlflow models serve` does)."""

    error_code: str = Field(description="BAD_REQUEST, INVALID_PARAMETER_VALUE (a record breaks the schema), ...")
    message: str


class InvocationsResponse(BaseModel):
    predictions: list[float] = Field(description="Model output in the model's unit, $100,000, as MLflow serves it.")


BIGINT_MAX = 2**63 - 1
"""The largest integer SQLite and PostgreSQL compare with: a larger one in a query overflowed into a 500."""


class HistoryFilters(BaseModel):
    """Which logged predictions: every filter given must hold (none given: all of them)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    since: AwareDatetime | None = Field(default=None, description="Logged at or after this moment (with its offset).")
    until: AwareDatetime | None = Field(default=None, description="Logged before this moment.")
    model_version: int | None = Field(default=None, ge=1, le=BIGINT_MAX)
    role: Role | None = None
    ocean_proximity: OceanProximity | None = None
    min_price: float | None = Field(default=None, ge=0, description="Predicted dollars at least this.")
    max_price: float | None = Field(default=None, ge=0, description="Predicted dollars at most this.")
    request_id: str | None = Field(default=None, min_length=1, max_length=128, description="Request ids starting so.")

    @field_validator("since", "until", mode="before")
    @classmethod
    def iso_time(cls, value: object) -> object:
        """An ISO 8601 time, as the query string gives it: pydantic alone would also take a number (Unix time)."""
        if isinstance(value, str):
            try:
                datetime.fromisoformat(value)
            except ValueError:
                raise ValueError("expected an ISO 8601 time with its offset, e.g. 2026-12-01T00:00:00Z") from None
        return value

    @field_validator("until")
    @classmethod
    def after_since(cls, until: datetime | None, info: ValidationInfo) -> datetime | None:
        since = info.data.get("since")
        if until and since and until <= since:
            raise ValueError(f"must come after since ({since.isoformat()})")
        return until

    @field_validator("max_price")
    @classmethod
    def at_least_min_price(cls, top: float | None, info: ValidationInfo) -> float | None:
        bottom = info.data.get("min_price")
        if top is not None and bottom is not None and top < bottom:
            raise ValueError(f"must be at least min_price ({bottom})")
        return top


class PredictionsQuery(HistoryFilters):
    limit: int = Field(default=50, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=BIGINT_MAX)


class ExportQuery(HistoryFilters):
    format: Literal["csv", "json"] = Field(default="csv", description="CSV (inputs as columns) or a JSON array.")


class LoggedPrediction(BaseModel):
    id: int
    request_id: str
    row: int = Field(description="Position of the record in its request.")
    created_at: str
    model_name: str
    model_version: int
    inputs: dict[str, Any]
    prediction: float = Field(description="Dollars.")
    latency_ms: float = Field(description="Time the whole request took in the server (a shadow: its own prediction).")
    role: Role


class PredictionsPage(BaseModel):
    limit: int
    offset: int
    total: int = Field(description="Logged predictions that pass the filters, on every page.")
    predictions: list[LoggedPrediction]


class SummaryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    minutes: int = Field(default=30, ge=1, le=1440, description="How far back, in minutes.")
    points: int = Field(default=500, ge=1, le=5000, description="How many of the latest answers to place on the map.")


class MinuteCount(BaseModel):
    minute: str = Field(description="UTC minute, YYYY-MM-DDTHH:MM.")
    count: int


class PriceHistogram(BaseModel):
    edges: list[float] = Field(description="Bin edges in dollars, one more than the counts.")
    counts: list[int]


class PlacedAnswer(BaseModel):
    created_at: str
    model_version: int
    role: Role
    prediction: float
    longitude: float
    latitude: float
    ocean_proximity: OceanProximity


class LiveSummary(BaseModel):
    """Served traffic of the last minutes: its rate, its prices and where it came from."""

    minutes: int
    per_minute: list[MinuteCount] = Field(description="Answered predictions in each minute, oldest first.")
    prices: PriceHistogram = Field(description="Predicted prices of the answers placed on the map.")
    answers: list[PlacedAnswer] = Field(description="The latest answers (shadows left out), newest first.")
    california: list[tuple[float, float]] = Field(
        description="(longitude, latitude) cells the champion's training rows occupy: the map's outline."
    )


class AccuracyQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bucket: Literal["minute", "hour", "day"] = "hour"
    days: float = Field(default=7, gt=0, le=366, description="How far back, by prediction time.")


class AccuracyPoint(BaseModel):
    period: str = Field(description="The bucket, a prefix of ISO time in UTC.")
    model_version: int
    role: Role
    count: int = Field(description="Predictions with feedback in the bucket.")
    rmse: float = Field(description="Dollars.")
    mae: float = Field(description="Dollars.")


class AccuracyOverTime(BaseModel):
    bucket: str
    points: list[AccuracyPoint]


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


class ModelInfo(BaseModel):
    name: str
    version: int
    alias: str
    run_id: str | None
    source: str = Field(description="Where the registry took the model from.")
    registered_at: str
    registration_tags: dict[str, str] = Field(description="Metrics and lineage the register stage recorded.")
    model_metadata: dict[str, Any] = Field(description="Logged with the model: family, trained_at, data sha, commit.")
    input_schema: list[dict[str, Any]] | None = Field(description="The logged model's signature inputs.")
    prediction_path: dict[str, Any] = Field(
        description="What predicts: `serving` is fast (housing.fast, with its kernels) or pipeline (with the"
        " reason), and `check` the load-time comparison with the pipeline on the model's golden set."
    )


class FeedbackRequest(BaseModel):
    """The observed value of a served prediction: ground truth for live accuracy."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    request_id: str = Field(min_length=1, max_length=128)
    row: int = Field(default=0, ge=0, description="Position of the record in its request.")
    actual_value: float = Field(gt=0, le=10_000_000, description="Observed median house value, dollars.")


class FeedbackResult(BaseModel):
    request_id: str
    row: int
    model_version: int
    role: Role = Field(description="Who answered the client: the champion or the challenger.")
    prediction: float = Field(description="Dollars, as served.")
    actual_value: float
    error: float = Field(description="prediction - actual_value, dollars.")


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    ready: bool
    model: ModelRef | None = None
    problem: str | None = None


class ReloadResult(BaseModel):
    reloaded: bool = Field(description="True when this worker swapped in a new champion.")
    model: ModelRef | None = None
    problem: str | None = None
    challenger: ModelRef | None = Field(default=None, description="The challenger this worker has loaded, if any.")


class FeatureDrift(BaseModel):
    test: Literal["ks", "chi2"] = Field(description="Kolmogorov-Smirnov for numbers, chi-square for categories.")
    rows: int = Field(description="Served rows with a value for this feature.")
    psi: float = Field(description="Population stability index against the training data.")
    effect: float | None = Field(description="KS statistic or Cramér's V.")
    p_value: float | None
    drifted: bool = Field(description="Beyond params.yaml's drift thresholds.")


class ServedDriftReport(BaseModel):
    """The latest served inputs against the training data of the champion that answered them."""

    model: ModelRef | None = None
    rows: int = Field(default=0, description="Served rows compared (the latest SERVE_DRIFT_WINDOW).")
    drifted: list[str] = Field(default_factory=list, description="Features that drifted.")
    features: dict[str, FeatureDrift] = Field(default_factory=dict)
    problem: str | None = Field(default=None, description="Why nothing could be compared yet.")


class RetrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    dry_run: bool = Field(default=False, description="Decide and record, but do not retrain.")
    force: bool = Field(default=False, description="Retrain whatever the evidence says.")


class RetrainStatus(BaseModel):
    running: bool = Field(description="A retrain command holds the lock now.")
    last: dict[str, Any] | None = Field(
        description="The retrain command's latest record: state, evidence, reasons, retrain, the stages DVC ran"
        " and skipped, outcome or error."
    )


class WorkerProcess(BaseModel):
    pid: int
    rss_mb: float
    cpu_percent: float = Field(description="Since the previous reading of this process, by this worker.")
    this_worker: bool = Field(description="The worker that answered this request.")


class GpuStatus(BaseModel):
    index: int
    name: str
    memory_used_mb: float
    memory_total_mb: float
    utilization_percent: float
    temperature_c: float
    power_w: float | None


class SystemStatus(BaseModel):
    health: str
    ready: bool
    model: ModelRef | None
    challenger: ModelRef | None
    problem: str | None = Field(description="Why no model is loaded, if none is.")
    uptime_s: float = Field(description="Since this worker started.")
    workers: list[WorkerProcess] = Field(description="Gunicorn's workers on this host (this process alone outside it).")
    cpu_count: int
    load_average: tuple[float, float, float]
    memory_total_mb: float
    memory_available_mb: float
    gpus: list[GpuStatus] = Field(description="Through NVML; empty where there is no NVIDIA GPU.")
    gpu_problem: str | None = Field(description="Why no GPU is reported, when none is.")
    versions: dict[str, str] = Field(description="housing-mlops, MLflow, Python.")


def answer(body: BaseModel, status: int = 200) -> Response:
    return Response(body.model_dump_json(), status=status, mimetype="application/json")


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise RequestError(400, "malformed JSON", [ErrorDetail(field="body", message=str(error))]) from None
    except RecursionError:
        message = "nested too deeply: no valid request nests more than a few levels"
        raise RequestError(400, "malformed JSON", [ErrorDetail(field="body", message=message)]) from None


Model = TypeVar("Model", bound=BaseModel)


def validate_model(model: type[Model], data: Any, status: int = 422) -> Model:
    """`data` as `model`, or a RequestError with `status` naming every field that breaks it."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise RequestError(status, "invalid request", _details(error)) from None


def validate_records(records: Any, max_batch: int) -> list[HousingRow]:
    """A single record or a list of 1..max_batch records, each checked against HousingRow."""
    single = isinstance(records, dict)
    if not single and not isinstance(records, list):
        raise RequestError(
            422, "invalid request", [ErrorDetail(field="body", message="expected a record or a list of records")]
        )
    if not single and not records:
        raise RequestError(422, "invalid request", [ErrorDetail(field="body", message="the list of records is empty")])
    if not single and len(records) > max_batch:
        message = f"at most {max_batch} records per request (got {len(records)})"
        raise RequestError(413, "batch too large", [ErrorDetail(field="body", message=message)])
    try:
        return _records.validate_python([records] if single else records, strict=True)
    except ValidationError as error:
        raise RequestError(422, "invalid record", _details(error, drop_index=single)) from None


def records_columns(rows: list[HousingRow]) -> dict[str, np.ndarray]:
    """Validated records as raw columns for the logged model (missing values as NaN).

    The pipeline looks columns up by name, so a mapping of arrays does: building a one-row pandas
    DataFrame per request would cost a fifth of the request.
    """
    return columns_of({name: [getattr(row, name) for row in rows] for name in RAW_COLUMNS})


def _details(error: ValidationError, drop_index: bool = False) -> list[ErrorDetail]:
    details = []
    for problem in error.errors():
        location = list(problem["loc"][1:] if drop_index else problem["loc"])
        field = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location).lstrip(".")
        got = problem.get("input")
        suffix = "" if isinstance(got, dict | list) or problem["type"] == "missing" else f" (got {got!r})"
        details.append(ErrorDetail(field=field or "body", message=problem["msg"] + suffix))
    return details
