"""register: the best model by val RMSE is registered; the champion alias moves only when it wins."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from housing.golden import GOLDEN_FILE
from housing.schema import RAW_COLUMNS
from stages.params import MODEL_PARAMS
from tests.conftest import logged_runs, registered_model, run_stage
from tests.legacy_layout import register_legacy_champion
from tests.synthetic import housing_frame

pytestmark = pytest.mark.slow
NAME = "california-housing"
"""Each test works in `repo`, a copy of a repository whose pipeline ran once (every family's model
folder and scores are there), and registers into its own fresh store (mlflow_uri), where no run of
those models exists."""


def register(workdir: Path, env: dict | None = None, check: bool = True) -> tuple[dict, str]:
    result = run_stage(
        workdir,
        "register",
        "--scores",
        "metrics",
        "--models",
        "models",
        "--splits",
        "data/processed",
        "--golden",
        "golden",
        "--receipt",
        "reports/registered.json",
        env=env,
    )
    if not check:
        return {}, result.stderr
    assert result.returncode == 0, result.stderr
    return json.loads((workdir / "reports" / "registered.json").read_text()), result.stdout


def scores(workdir: Path) -> dict[str, dict]:
    return {family: json.loads((workdir / "metrics" / f"{family}.json").read_text()) for family in MODEL_PARAMS}


def test_first_model_becomes_champion_and_an_equal_one_only_challenger(repo, mlflow_uri):
    """The model folders were trained against another store, as after DVC restored train stages from
    its run cache: register logs the folder in this store first."""
    evaluation = scores(repo)
    best = min(evaluation, key=lambda family: evaluation[family]["val_rmse"])

    first, _ = register(repo)
    assert first["promoted"] is True and first["alias"] == "champion"
    assert first["model_family"] == best and first["version"] == 1
    assert first["metrics"] == evaluation[best]
    (restore_run,) = logged_runs(mlflow_uri, NAME)
    assert restore_run.info.run_name == f"restore {best}" and restore_run.info.run_id in first["source"]

    second, _ = register(repo)
    assert second["promoted"] is False and second["alias"] == "challenger"
    assert second["previous_champion_test_rmse"] == pytest.approx(evaluation[best]["test_rmse"])

    client = mlflow.MlflowClient(mlflow_uri)
    assert int(client.get_model_version_by_alias(NAME, "champion").version) == 1
    assert int(client.get_model_version_by_alias(NAME, "challenger").version) == 2
    assert client.get_model_version(NAME, "1").tags["test_rmse"] == str(evaluation[best]["test_rmse"])
    predicted = registered_model(mlflow_uri, NAME, "champion").predict(housing_frame(3, seed=6)[RAW_COLUMNS])
    assert np.isfinite(np.asarray(predicted)).all()
    for version in (1, 2):
        local = Path(mlflow.artifacts.download_artifacts(f"models:/{NAME}/{version}", tracking_uri=mlflow_uri))
        golden = pd.read_parquet(local / GOLDEN_FILE)
        assert golden.equals(pd.read_parquet(repo / "golden" / f"{best}.parquet")), version


def test_without_its_golden_set_nothing_is_registered(repo, mlflow_uri):
    evaluation = scores(repo)
    best = min(evaluation, key=lambda family: evaluation[family]["val_rmse"])
    shutil.rmtree(repo / "golden")

    _, error = register(repo, check=False)

    assert f"error: golden/{best}.parquet: no golden set; run the evaluate stage first" in error, error
    assert mlflow.MlflowClient(mlflow_uri).search_registered_models() == []


def test_a_champion_of_the_former_layout_is_replaced(repo, mlflow_uri, tmp_path):
    """It names stages.* classes this code does not have: it cannot be scored or served, so it is replaced."""
    assert register_legacy_champion(mlflow_uri, NAME, tmp_path) == 1

    receipt, output = register(repo)

    assert receipt["promoted"] is True and receipt["version"] == 2
    assert receipt["previous_champion_test_rmse"] is None
    assert "the current champion cannot be loaded by this code, so it is replaced" in output
    assert "stages.features" in output
    assert int(mlflow.MlflowClient(mlflow_uri).get_model_version_by_alias(NAME, "champion").version) == 2
