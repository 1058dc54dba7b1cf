"""train: every family fits on small data and saves an MLflow model that predicts on raw rows."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest

from stages.params import MODEL_PARAMS
from stages.schema import FEATURES
from tests.conftest import run_stage
from tests.synthetic import housing_frame


@pytest.fixture
def splits(workdir):
    result = run_stage(
        workdir,
        "preprocess",
        "--raw",
        "data/raw/housing.csv",
        "--out",
        "data/processed",
        "--report",
        "metrics/preprocess.json",
    )
    assert result.returncode == 0, result.stderr
    return workdir / "data" / "processed"


def train(workdir, family: str):
    return run_stage(
        workdir,
        "train",
        family,
        "--splits",
        "data/processed",
        "--out",
        f"models/{family}",
        "--metrics",
        f"metrics/train/{family}.json",
    )


@pytest.mark.parametrize("family", list(MODEL_PARAMS))
def test_each_family_saves_a_raw_row_model_and_logs_a_run(workdir, splits, mlflow_uri, family):
    result = train(workdir, family)
    assert result.returncode == 0, result.stderr

    model = mlflow.pyfunc.load_model(str(workdir / "models" / family))
    raw = housing_frame(5, seed=7)[FEATURES]
    raw.loc[0, "total_bedrooms"] = np.nan
    predicted = np.asarray(model.predict(raw)).ravel()
    assert predicted.shape == (5,) and np.isfinite(predicted).all() and (predicted > 0).all()
    assert model.metadata.get_input_schema().input_names() == FEATURES
    training_rows = len(pd.read_parquet(workdir / "data/processed/train.parquet"))
    assert model.get_raw_model()[0].reference_["rows"] == training_rows, "the drift profile of its training rows"

    scores = json.loads((workdir / "metrics" / "train" / f"{family}.json").read_text())
    assert {"fit_seconds", "train_samples_per_s", "train", "val"} <= scores.keys()
    assert set(scores["val"]) == {"rmse", "mae", "r2"}

    mlflow.set_tracking_uri(mlflow_uri)
    (run,) = mlflow.search_runs(experiment_names=["california-housing"], output_format="list")
    assert run.data.tags["model_family"] == family
    assert run.data.params["model_family"] == family
    assert run.data.metrics["val_rmse"] == pytest.approx(scores["val"]["rmse"])


def test_mlp_logs_throughput_per_epoch(workdir, splits, mlflow_uri):
    assert train(workdir, "mlp").returncode == 0
    client = mlflow.MlflowClient(mlflow_uri)
    (run,) = client.search_runs(client.get_experiment_by_name("california-housing").experiment_id)
    history = client.get_metric_history(run.info.run_id, "epoch_samples_per_s")
    assert len(history) >= 1 and all(point.value > 0 for point in history)


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
