"""register: the best model by val RMSE is registered; the champion alias moves only when it wins."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml

from housing.golden import GOLDEN_FILE
from housing.schema import RAW_COLUMNS
from housing.scores import regression_scores
from stages.params import MODEL_PARAMS
from stages.preprocess import split_labels
from stages.raw import read_ingested_csv
from tests.support.dvc_repo import sh, stages_run
from tests.support.project import run_stage
from tests.support.synthetic import housing_frame
from tests.support.tracking import logged_runs, registered_model, registered_version
from tests.support.unloadable_model import MISSING_MODULE, register_unloadable_champion

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

    second, output = register(repo)
    assert second["promoted"] is False and second["alias"] == "challenger"
    comparison = second["comparison"]
    assert comparison["champion_version"] == 1 and comparison["compared_rows"] == comparison["test_rows"]
    assert comparison["champion_test_rmse"] == comparison["new_test_rmse"] == evaluation[best]["test_rmse"]
    assert comparison["difference"] == 0 and comparison["low"] == comparison["high"] == 0
    assert f"kept as challenger: on {comparison['test_rows']} of {comparison['test_rows']} test rows" in output

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


def test_a_champion_this_code_cannot_load_is_replaced(repo, mlflow_uri, tmp_path):
    """Its feature step's class is not in this code: it cannot be scored or served, so it is replaced."""
    assert register_unloadable_champion(mlflow_uri, NAME, tmp_path) == 1

    receipt, output = register(repo)

    assert receipt["promoted"] is True and receipt["version"] == 2
    assert receipt["comparison"]["champion_version"] == 1 and receipt["comparison"]["compared_rows"] is None
    assert "the current champion v1 cannot be loaded by this code, so it is replaced" in output
    assert MISSING_MODULE in output
    assert int(mlflow.MlflowClient(mlflow_uri).get_model_version_by_alias(NAME, "champion").version) == 2


def test_a_changed_split_compares_only_the_test_rows_the_champion_never_saw(repo):
    """Champion v1 trained and was selected on seed 42's train and val blocks; seed 7's test split holds
    many of them. The gate scores v1 and the new version only on the rest, or refuses when too few."""
    raw = read_ingested_csv(repo / "data" / "raw" / "housing.csv")
    fractions = yaml.safe_load((repo / "params.yaml").read_text())["preprocess"]
    before, after = (split_labels(raw, fractions["val_fraction"], fractions["test_fraction"], seed) for seed in (42, 7))
    unseen = before[after == "test"] == "test"
    rows, test_rows = int(unseen.sum()), int((after == "test").sum())
    assert 0 < rows < test_rows

    output = sh(repo, "dvc", "exp", "run", "-S", "seed=7", "-S", f"register.min_rows={rows + 1}")
    refused = json.loads((repo / "reports" / "registered.json").read_text())
    assert refused["promoted"] is False and refused["version"] == 2
    assert refused["comparison"] | {"summary": None} == {
        "promote": False,
        "summary": None,
        "champion_version": 1,
        "test_rows": test_rows,
        "compared_rows": rows,
        "champion_test_rmse": None,
        "new_test_rmse": None,
        "difference": None,
        "low": None,
        "high": None,
    }
    assert (
        f"kept as challenger: only {rows} of {test_rows} test rows unseen by champion v1"
        f" (register.min_rows is {rows + 1}): not compared on test RMSE"
    ) in output

    output = sh(repo, "dvc", "exp", "run", "-S", "seed=7", "-S", f"register.min_rows={rows}")
    assert stages_run(output) == {"register"}
    receipt = json.loads((repo / "reports" / "registered.json").read_text())
    test = pd.read_parquet(repo / "data" / "processed" / "test.parquet")[unseen]
    actual = test["median_house_value"].to_numpy() / 100_000
    store = f"sqlite:///{repo / 'mlflow.db'}"
    rmse = {
        version: regression_scores(actual, registered_version(store, NAME, version).predict(test[RAW_COLUMNS]))["rmse"]
        for version in (1, receipt["version"])
    }
    comparison = receipt["comparison"]
    assert comparison["compared_rows"] == rows and comparison["champion_test_rmse"] == pytest.approx(rmse[1], abs=1e-5)
    assert comparison["new_test_rmse"] == pytest.approx(rmse[receipt["version"]], abs=1e-5)
    assert receipt["promoted"] is (comparison["difference"] < 0)
    assert comparison["low"] <= comparison["difference"] <= comparison["high"]
    tags = mlflow.MlflowClient(store).get_model_version(NAME, str(receipt["version"])).tags
    assert tags["gate.compared_rows"] == str(rows) and tags["lineage.seed"] == "7"
