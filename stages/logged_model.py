"""How a fitted raw-row pipeline becomes an MLflow model: its signature, code, requirements and lineage.

The model carries the model package (housing/) as its only code: what its skops file names and
what loading it imports. Its requirements are pinned to the versions that trained it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import mlflow
import pandas as pd
import skops.io
from mlflow.models import ModelSignature
from mlflow.models.model import ModelInfo
from mlflow.types import ColSpec, Schema
from sklearn.pipeline import Pipeline

import housing
from housing.names import MODEL_FAMILY
from housing.schema import TARGET_SCALE, HousingRow
from stages.atomic import atomic_path
from stages.splits import split_path
from stages.tracking import git_commit

MODEL_CODE = Path(housing.__file__).parent
MODEL_REQUIREMENTS = ("scikit-learn", "skops", "pandas", "numpy", "pydantic", "scipy", "xgboost", "lightgbm")
"""What loading and predicting need: PyTorch only trains the MLP, whose forward pass is numpy (housing.mlp)."""


def model_signature() -> ModelSignature:
    """The logged model's input schema, derived from HousingRow: raw rows in, price out."""
    inputs = Schema(
        [
            ColSpec("string" if name == "ocean_proximity" else "double", name, required=field.is_required())
            for name, field in HousingRow.model_fields.items()
        ]
    )
    return ModelSignature(inputs=inputs, outputs=Schema([ColSpec("double", "price_100k")]))


def log_and_save(pipeline: Pipeline, family: str, input_example: pd.DataFrame, splits: Path, out: Path) -> ModelInfo:
    """Log the pipeline fitted on `splits`' train split as the active run's model, and write the same
    files to `out` (atomically) for DVC."""
    train_sha256 = hashlib.sha256(split_path(splits, "train").read_bytes()).hexdigest()
    model_info = log_pipeline(pipeline, family, input_example, train_sha256)
    with atomic_path(out) as staged:
        mlflow.artifacts.download_artifacts(artifact_uri=model_info.model_uri, dst_path=str(staged))
    return model_info


def log_pipeline(pipeline: Pipeline, family: str, input_example: pd.DataFrame, train_sha256: str) -> ModelInfo:
    """Log the raw-row pipeline as the active run's MLflow model, with its signature, code and lineage."""
    return mlflow.sklearn.log_model(
        pipeline,
        name="model",
        signature=model_signature(),
        input_example=input_example,
        skops_trusted_types=skops.io.get_untrusted_types(data=skops.io.dumps(pipeline)),
        pip_requirements=[f"{package}=={version(package)}" for package in MODEL_REQUIREMENTS],
        code_paths=[str(MODEL_CODE)],
        metadata={
            MODEL_FAMILY: family,
            "target_unit_dollars": TARGET_SCALE,
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "train_data_sha256": train_sha256,
            "git_commit": git_commit(),
        },
    )
