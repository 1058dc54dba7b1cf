"""register: the best model by val RMSE is registered; the champion alias moves only when it wins."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mlflow
import numpy as np
import pytest

from stages.schema import FEATURES
from tests.conftest import run_stage
from tests.synthetic import housing_frame

FAMILIES = ("linear", "lightgbm")
NAME = "california-housing"


@pytest.fixture
def evaluated(workdir: Path, mlflow_uri: str) -> Path:
    """A workdir with two trained families and metrics/evaluate.json."""
    steps = [
        ("preprocess", "--raw", "data/raw/housing.csv", "--out", "data/processed", "--report", "metrics/p.json"),
        *[
            (
                "train",
                family,
                "--splits",
                "data/processed",
                "--out",
                f"models/{family}",
                "--metrics",
                f"m/{family}.json",
            )
            for family in FAMILIES
        ],
        (
            "evaluate",
            *FAMILIES,
            "--models",
            "models",
            "--splits",
            "data/processed",
            "--metrics",
            "metrics/evaluate.json",
            "--plots",
            "plots",
        ),
    ]
    for module, *args in steps:
        result = run_stage(workdir, module, *args)
        assert result.returncode == 0, result.stderr
    return workdir


def register(workdir: Path, env: dict | None = None) -> dict:
    result = run_stage(
        workdir,
        "register",
        "--evaluation",
        "metrics/evaluate.json",
        "--models",
        "models",
        "--splits",
        "data/processed",
        "--receipt",
        "models/registered.json",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return json.loads((workdir / "models" / "registered.json").read_text())


def test_first_model_becomes_champion_and_an_equal_one_only_challenger(evaluated, mlflow_uri):
    evaluation = json.loads((evaluated / "metrics" / "evaluate.json").read_text())
    best = min(evaluation, key=lambda family: evaluation[family]["val"]["rmse"])

    first = register(evaluated)
    assert first["promoted"] is True and first["alias"] == "champion"
    assert first["model_family"] == best and first["version"] == 1
    assert first["metrics"] == evaluation[best]

    second = register(evaluated)
    assert second["promoted"] is False and second["alias"] == "challenger"
    assert second["previous_champion_test_rmse"] == pytest.approx(evaluation[best]["test"]["rmse"])

    client = mlflow.MlflowClient(mlflow_uri)
    assert int(client.get_model_version_by_alias(NAME, "champion").version) == 1
    assert int(client.get_model_version_by_alias(NAME, "challenger").version) == 2
    champion = mlflow.pyfunc.load_model(f"models:/{NAME}@champion")
    predicted = np.asarray(champion.predict(housing_frame(3, seed=5)[FEATURES])).ravel()
    assert np.isfinite(predicted).all()


def test_a_model_folder_from_another_store_is_logged_before_registering(evaluated, tmp_path, migrated_store):
    """What happens after DVC restores train stages from its run cache: no run exists in this store."""
    other_store = tmp_path / "other"
    other_store.mkdir()
    shutil.copy(migrated_store, other_store / "mlflow.db")
    other_uri = f"sqlite:///{other_store / 'mlflow.db'}"

    receipt = register(evaluated, env={"MLFLOW_TRACKING_URI": other_uri})
    assert receipt["promoted"] is True

    mlflow.set_tracking_uri(other_uri)
    (restore_run,) = mlflow.search_runs(experiment_names=[NAME], output_format="list")
    assert restore_run.info.run_name == f"restore {receipt['model_family']}"
    assert restore_run.info.run_id in receipt["source"]
    champion = mlflow.pyfunc.load_model(f"models:/{NAME}@champion")
    assert np.isfinite(np.asarray(champion.predict(housing_frame(3, seed=6)[FEATURES]))).all()
