"""The params.yaml sections, each validated by its own pydantic model: the one list of param names.

A stage asks for the sections it declares in dvc.yaml, naming what it expects, e.g.
`load_params("train.xgboost", XGBoostParams)`, and gets that typed object back, or a StageError naming
the param and the problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator
from typing_extensions import TypeForm  # pydantic's own dependency; `typing` has it from Python 3.14

from housing.drift import DriftThresholds
from housing.names import MLP_FAMILY
from stages.errors import StageError

PARAMS_FILE = Path("params.yaml")

Device = Literal["auto", "cpu", "cuda"]
Engine = Literal["local", "dask"]
Fraction = Annotated[float, Field(gt=0, lt=1)]
PositiveInt = Annotated[int, Field(gt=0)]
T = TypeVar("T")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IngestParams(Section):
    source: str = Field(description="URL (http/https) or local path of the source CSV.")
    sha256: str | None = Field(description="Expected sha256 of the source; null skips the check.")
    timeout_s: float = Field(gt=0, description="Download timeout, seconds.")
    upsample: PositiveInt = Field(description="Copies of every row, the first the row itself; 100 makes ~2M rows.")
    jitter: float = Field(ge=0, description="Each other copy's numeric features move by N(0, jitter x their std).")


class PreprocessParams(Section):
    on_invalid: Literal["drop", "fail"] = Field(description="What to do with rows that break the schema.")
    val_fraction: Fraction = Field(description="Share of the blocks in the validation split (model selection).")
    test_fraction: Fraction = Field(description="Share of the blocks in the test split (reported, never chosen on).")


class FeatureParams(Section):
    neighbours: list[PositiveInt] = Field(min_length=1, description="k of each nearest-blocks feature.")
    similar: list[PositiveInt] = Field(description="k of each most-similar-blocks feature; [] for none.")
    folds: Annotated[int, Field(ge=2)] = Field(description="Folds for the out-of-fold neighbour features.")
    target_transform: Literal["sqrt", "log", "none"] = Field(
        description="Fit on sqrt(price) or log(price) and predict the inverse of it, or fit on price itself."
    )


class LinearParams(Section):
    alpha: float = Field(ge=0, description="L2 penalty of the ridge regression.")


class RandomForestParams(Section):
    n_estimators: PositiveInt = Field(description="Trees in the forest.")
    max_depth: PositiveInt | None = Field(description="Deepest a tree may grow; null for no limit.")
    min_samples_leaf: PositiveInt = Field(description="Fewest training rows in a leaf.")
    max_features: Annotated[float, Field(gt=0, le=1)] = Field(description="Share of the features tried at each split.")


class XGBoostParams(Section):
    n_estimators: PositiveInt = Field(description="Most boosting rounds; early stopping usually ends sooner.")
    learning_rate: Annotated[float, Field(gt=0)] = Field(description="Shrinkage of each round's trees.")
    max_depth: PositiveInt = Field(description="Deepest a tree may grow.")
    min_child_weight: Annotated[float, Field(ge=0)] = Field(description="Least hessian weight in a child.")
    subsample: Annotated[float, Field(gt=0, le=1)] = Field(description="Share of the rows each tree sees.")
    colsample_bytree: Annotated[float, Field(gt=0, le=1)] = Field(description="Share of the features each tree sees.")
    early_stopping_rounds: PositiveInt = Field(description="Stop after this many rounds without a better val RMSE.")
    seeds: PositiveInt = Field(description="Boosters bagged over seeds seed, seed+1, ...: the model is their mean.")


class LightGBMParams(Section):
    n_estimators: PositiveInt = Field(description="Most boosting rounds; early stopping usually ends sooner.")
    learning_rate: Annotated[float, Field(gt=0)] = Field(description="Shrinkage of each round's trees.")
    num_leaves: Annotated[int, Field(ge=2)] = Field(description="Most leaves in a tree.")
    min_child_samples: PositiveInt = Field(description="Fewest training rows in a leaf.")
    subsample: Annotated[float, Field(gt=0, le=1)] = Field(description="Share of the rows each tree sees.")
    colsample_bytree: Annotated[float, Field(gt=0, le=1)] = Field(description="Share of the features each tree sees.")
    early_stopping_rounds: PositiveInt = Field(description="Stop after this many rounds without a better val RMSE.")
    seeds: PositiveInt = Field(description="Boosters bagged over seeds seed, seed+1, ...: the model is their mean.")


class MLPParams(Section):
    hidden_layers: list[PositiveInt] = Field(min_length=1, description="Width of each hidden layer, input side first.")
    dropout: Annotated[float, Field(ge=0, lt=1)] = Field(description="Dropout after each hidden layer.")
    batch_size: PositiveInt = Field(description="Rows per optimiser step.")
    epochs: PositiveInt = Field(description="Most passes over the training rows; early stopping usually ends sooner.")
    learning_rate: Annotated[float, Field(gt=0)] = Field(description="AdamW's starting learning rate.")
    weight_decay: Annotated[float, Field(ge=0)] = Field(description="AdamW's decoupled weight decay.")
    lr_schedule: Literal["constant", "cosine", "plateau"] = Field(
        description="Learning rate over the epochs: fixed, cosine decay, or halved when val RMSE stalls."
    )
    early_stopping_patience: PositiveInt = Field(description="Stop after this many epochs without a better val RMSE.")
    compile: bool = Field(description="torch.compile the network for training (pays off on a GPU).")


class DaskParams(Section):
    """The cluster `engine: dask` trains on: a LocalCluster of this many processes, unless
    DASK_SCHEDULER_ADDRESS (not a tracked param: where it runs changes no result) names a scheduler."""

    workers: PositiveInt = Field(description="Worker processes of the LocalCluster the stage starts.")
    threads_per_worker: PositiveInt = Field(description="Threads of each of those workers.")
    partitions: PositiveInt = Field(description="Row chunks the training matrix is split into on the cluster.")


class BlendParams(Section):
    members: list[str] = Field(min_length=2, description="The families the blend may combine.")
    folds: Annotated[int, Field(ge=2)] = Field(
        description="Folds of the out-of-fold predictions its weights are fitted on (each member refitted this often)."
    )

    @field_validator("members")
    @classmethod
    def _known_families(cls, members: list[str]) -> list[str]:
        unknown = [name for name in members if name not in MODEL_PARAMS]
        if unknown:
            raise ValueError(f"unknown families {unknown}; the families are {list(MODEL_PARAMS)}")
        if len(set(members)) != len(members):
            raise ValueError("a family is listed twice")
        return members


class EvaluateParams(Section):
    bootstrap_resamples: Annotated[int, Field(ge=100)] = Field(
        description="Resamples of the test rows for the intervals of the RMSE differences."
    )


class RegisterParams(Section):
    model_name: str = Field(min_length=1, description="Name in the MLflow model registry.")
    min_improvement: float = Field(
        ge=0, description="Test RMSE the candidate must beat the champion by to take the alias."
    )
    min_rows: PositiveInt = Field(
        description="Fewest test rows unseen by the champion (neither trained nor selected on) to compare on;"
        " with fewer the new version is not promoted on test RMSE."
    )


class RetrainParams(Section):
    min_new_rows: PositiveInt = Field(description="Retrain once this many rows arrived since the last training.")
    drifted_features: PositiveInt = Field(
        description="Retrain when a new batch or the served traffic has this many drifted features."
    )
    served_window: PositiveInt = Field(description="Latest served rows compared with the champion's training data.")
    max_live_rmse_dollars: Annotated[float, Field(gt=0)] = Field(
        description="Retrain when the champion's live RMSE (dollars) over the latest feedback exceeds this."
    )
    min_feedback: PositiveInt = Field(description="Live RMSE counts only with at least this many reports.")
    max_age_days: Annotated[float, Field(gt=0)] = Field(description="Retrain when the champion is older than this.")


class MlflowParams(Section):
    experiment: str = Field(min_length=1, description="MLflow experiment the training runs are logged in.")


MODEL_PARAMS: dict[str, type[Section]] = {
    "linear": LinearParams,
    "random_forest": RandomForestParams,
    "xgboost": XGBoostParams,
    "lightgbm": LightGBMParams,
    MLP_FAMILY: MLPParams,
}
"""The model families, in pipeline order: the one list of them. params.yaml has a `train` section for
each (dvc.yaml's train stages are one per section), and stages.families a builder for each."""

BLEND = "blend"
CANDIDATES = (*MODEL_PARAMS, BLEND)
"""What evaluate scores and register chooses from: every family, and the blend of them."""

SECTIONS: dict[str, Any] = {
    "seed": int,
    "device": Device,
    "engine": Engine,
    "dask": DaskParams,
    "ingest": IngestParams,
    "preprocess": PreprocessParams,
    "features": FeatureParams,
    "blend": BlendParams,
    "evaluate": EvaluateParams,
    "register": RegisterParams,
    "drift": DriftThresholds,
    "retrain": RetrainParams,
    "mlflow": MlflowParams,
    **{f"train.{name}": model for name, model in MODEL_PARAMS.items()},
}


def load_params(section: str, model: TypeForm[T], params_file: Path = PARAMS_FILE) -> T:
    """Read one section of params.yaml (dotted, e.g. "train.xgboost") and validate it as `model`.

    `model` is the section's entry in SECTIONS, named again by the caller so that its type checker
    knows what comes back; naming another is a TypeError, a mistake in the code, not in params.yaml.
    """
    if section not in SECTIONS:
        raise StageError(f"{params_file}: unknown params section '{section}'")
    if model != SECTIONS[section]:
        raise TypeError(f"params section '{section}' is a {SECTIONS[section]}, not a {model}")
    try:
        value: Any = yaml.safe_load(params_file.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise StageError(f"{params_file}: cannot read params ({error})") from None
    for key in section.split("."):
        if not isinstance(value, dict) or key not in value:
            raise StageError(f"{params_file}: missing params section '{section}'")
        value = value[key]
    try:
        return TypeAdapter(model).validate_python(value)
    except ValidationError as error:
        raise StageError(_describe(params_file, section, error)) from None


def load_family_params(family: str, params_file: Path = PARAMS_FILE) -> Section:
    """One family's section, `train.<family>`: its hyperparameters."""
    return load_params(f"train.{family}", MODEL_PARAMS[family], params_file)


def _describe(params_file: Path, section: str, error: ValidationError) -> str:
    problems = []
    for detail in error.errors():
        name = ".".join([section, *(str(part) for part in detail["loc"])])
        problems.append(f"{name}: {detail['msg']} (got {detail['input']!r})")
    return f"{params_file}: " + "; ".join(problems)
