"""train: every family saves an MLflow model that predicts on raw rows, and logs a run.

The models and runs are those of the shared repository whose `dvc repro` ran the train stage for
every family (the trained_repo fixture); the failures are run here.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from housing.names import TARGET_TRANSFORM_PARAM
from housing.schema import RAW_COLUMNS
from housing.target import final_estimator
from serve.dashboard.registry import Registry
from stages.params import MODEL_PARAMS
from stages.train import EPOCH_METRICS
from tests.support.project import call_stage, run_stage
from tests.support.synthetic import housing_frame
from tests.support.tracking import logged_runs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(trained_repo: Path) -> dict[str, mlflow.entities.Run]:
    """The MLflow run of each family's training, by family."""
    found = logged_runs(f"sqlite:///{trained_repo / 'mlflow.db'}", "california-housing")
    return {run.data.tags["model_family"]: run for run in found if "model_family" in run.data.params}


@pytest.mark.parametrize("family", list(MODEL_PARAMS))
def test_each_family_saves_a_raw_row_model_and_logs_a_run(trained_repo: Path, runs: dict, family: str):
    model = mlflow.pyfunc.load_model(str(trained_repo / "models" / family))
    raw = housing_frame(5, seed=7)[RAW_COLUMNS]
    raw.loc[0, "total_bedrooms"] = np.nan
    predicted = np.asarray(model.predict(raw)).ravel()
    assert predicted.shape == (5,) and np.isfinite(predicted).all() and (predicted > 0).all()
    assert model.metadata.get_input_schema().input_names() == RAW_COLUMNS
    assert model.metadata.metadata["model_family"] == family
    training_rows = len(pd.read_parquet(trained_repo / "data/processed/train.parquet"))
    assert model.get_raw_model()[0].reference_["rows"] == training_rows, "the drift profile of its training rows"

    report = json.loads((trained_repo / "reports" / "train" / f"{family}.json").read_text())
    assert {"fit_seconds", "train_samples_per_s", "train", "val", "telemetry"} <= report.keys()
    assert set(report["val"]) == {"rmse", "mae", "r2"}

    run = runs[family]
    assert run.data.params["model_family"] == family
    assert run.data.metrics["val_rmse"] == pytest.approx(report["val"]["rmse"])
    client = mlflow.MlflowClient(f"sqlite:///{trained_repo / 'mlflow.db'}")
    epochs = {name: client.get_metric_history(run.info.run_id, name) for name in EPOCH_METRICS}
    assert all(point.value > 0 for points in epochs.values() for point in points)
    epochs_run = getattr(final_estimator(model.get_raw_model()), "epochs_run_", 0)
    assert {len(points) for points in epochs.values()} == {epochs_run}, "only the MLP has epochs, each logged"
    assert (epochs_run > 0) == (family == "mlp")


def test_the_dashboard_reads_the_mlp_runs_epochs_and_target_by_the_names_train_logs(trained_repo: Path, runs: dict):
    loss = Registry(f"sqlite:///{trained_repo / 'mlflow.db'}", "california-housing").training_loss()

    assert loss.problem is None and loss.run_id == runs["mlp"].info.run_id
    assert loss.target_transform == runs["mlp"].data.params[TARGET_TRANSFORM_PARAM] in ("sqrt", "log", "none")
    mlp = final_estimator(mlflow.pyfunc.load_model(str(trained_repo / "models" / "mlp")).get_raw_model())
    assert [epoch.val_rmse for epoch in loss.epochs] == pytest.approx(mlp.epoch_val_rmse_)
    assert [epoch.train_loss for epoch in loss.epochs] == pytest.approx(mlp.epoch_train_loss_)


@pytest.fixture
def splits(workdir: Path) -> Path:
    args = ("--raw", "data/raw/housing.csv", "--out", "data/processed", "--report", "reports/preprocess.json")
    result = call_stage(workdir, "preprocess", *args)
    assert result.returncode == 0, result.stderr
    return workdir / "data" / "processed"


def train(workdir: Path, family: str):
    args = ("--splits", "data/processed", "--out", f"models/{family}", "--report", f"reports/train/{family}.json")
    return run_stage(workdir, "train", family, *args)


def test_requesting_cuda_without_a_gpu_fails_clearly(workdir, splits, mlflow_uri):
    params = (workdir / "params.yaml").read_text().replace("device: auto", "device: cuda")
    (workdir / "params.yaml").write_text(params)
    result = train(workdir, "linear")
    if result.returncode == 0:
        pytest.skip("a CUDA GPU is visible here")
    assert result.stderr.strip().splitlines()[-1].startswith("error: device: 'cuda' was requested")
    assert not (workdir / "models" / "linear").exists()


def test_an_empty_split_is_rejected(workdir, splits, mlflow_uri):
    pd.read_parquet(splits / "val.parquet").head(0).to_parquet(splits / "val.parquet")
    result = train(workdir, "linear")
    assert result.returncode == 1
    assert "val.parquet: the split is empty" in result.stderr
    assert not (workdir / "models" / "linear").exists()


@pytest.mark.parametrize(("family", "engine"), [("lightgbm", "dask"), ("random_forest", "local")])
def test_the_dask_engine_fits_its_families_there_and_logs_an_ordinary_model(
    workdir, splits, mlflow_uri, family, engine
):
    params = (workdir / "params.yaml").read_text().replace("engine: local", "engine: dask")
    (workdir / "params.yaml").write_text(params)

    result = train(workdir, family)

    assert result.returncode == 0, result.stderr
    assert f"engine {engine}" in result.stdout
    assert json.loads((workdir / "reports" / "train" / f"{family}.json").read_text())["engine"] == engine
    model = mlflow.pyfunc.load_model(str(workdir / "models" / family))
    steps = model.get_raw_model().named_steps.values()
    assert not {type(step).__module__.split(".")[0] for step in steps} & {"dask", "distributed"}
    assert np.isfinite(np.asarray(model.predict(housing_frame(5, seed=3)[RAW_COLUMNS]))).all()
