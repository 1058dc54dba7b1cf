"""What the public API (serve.api) accepts and answers, as pydantic models: they validate requests and
make its part of /openapi.json.

Records are the pipeline's own HousingRow, imported rather than copied, so the API rejects exactly
what preprocess rejects.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from housing.schema import HousingRow
from serve.prediction_log import Role
from serve.watcher import AliasWatcher, ServedModel


class PredictRequest(RootModel[HousingRow | Annotated[list[HousingRow], Field(min_length=1)]]):
    """One raw record, or a non-empty list of them (at most SERVE_MAX_BATCH)."""


class ModelRef(BaseModel):
    name: str
    version: int
    alias: str

    @classmethod
    def of(cls, model: ServedModel) -> ModelRef:
        return cls(name=model.name, version=model.version, alias=model.alias)


class Prediction(BaseModel):
    median_house_value: float = Field(description="Predicted median house value of the block, dollars.")


class PredictResponse(BaseModel):
    request_id: str
    model: ModelRef
    predictions: list[Prediction] = Field(description="One per record, in request order.")


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

    @classmethod
    def of(cls, champion: AliasWatcher) -> Readiness:
        """Whether `champion` has a model loaded: which one, or why not."""
        model = champion.current
        if model is None:
            return cls(ready=False, problem=champion.problem)
        return cls(ready=True, model=ModelRef.of(model))


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
