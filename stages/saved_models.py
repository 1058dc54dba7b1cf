"""The models the train and blend stages saved for DVC (models/<candidate>), read back as MLflow loads them."""

from __future__ import annotations

from pathlib import Path

import mlflow
from mlflow.pyfunc import PyFuncModel  # mlflow.pyfunc is a LazyLoader to type checkers

from stages.errors import StageError
from stages.params import BLEND


def load_saved_model(models: Path, candidate: str) -> PyFuncModel:
    """models/<candidate> through MLflow's pyfunc interface, as serving loads it; a StageError naming the
    stage to run when it is not there."""
    folder = models / candidate
    if not (folder / "MLmodel").is_file():
        stage = BLEND if candidate == BLEND else f"train@{candidate}"
        raise StageError(f"{folder}: no MLflow model here; run the {stage} stage first")
    return mlflow.pyfunc.load_model(str(folder))
