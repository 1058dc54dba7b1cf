"""End to end: real `dvc repro` in a temporary git + DVC repository, on generated data, tiny params."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import boto3
import botocore.exceptions
import mlflow
import numpy as np
import pytest

from stages.schema import FEATURES
from tests.conftest import eventually, free_port
from tests.dvc_repo import BIN, MODEL_NAME, commit, make_repo, sh, stages_run
from tests.synthetic import housing_frame


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git + DVC repository holding the project's pipeline and a generated source CSV."""
    return make_repo(tmp_path_factory.mktemp("e2e"))


@pytest.fixture(scope="module")
def first_repro(repo: Path) -> str:
    output = sh(repo, "dvc", "repro")
    commit(repo, "first run")
    return output


def test_repro_runs_every_stage_and_registers_a_champion(repo, first_repro):
    families = ["linear", "random_forest", "xgboost", "lightgbm", "mlp"]
    assert stages_run(first_repro) == {
        "ingest",
        "drift",
        "preprocess",
        "evaluate",
        "register",
        *(f"train@{f}" for f in families),
    }

    mlflow.set_tracking_uri(f"sqlite:///{repo / 'mlflow.db'}")
    champion = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion")
    raw = housing_frame(4, seed=9)[FEATURES]
    raw.loc[1, "total_bedrooms"] = np.nan
    predicted = np.asarray(champion.predict(raw)).ravel()
    assert predicted.shape == (4,) and np.isfinite(predicted).all()
    assert (repo / "mlartifacts").is_dir() and not (repo / "mlruns").exists()

    runs = mlflow.search_runs(experiment_names=[MODEL_NAME], output_format="list")
    assert {run.data.tags["model_family"] for run in runs} == set(families)
    assert all(run.data.tags["mlflow.source.git.commit"] for run in runs)


def test_dvc_reads_the_metrics_and_plots(repo, first_repro):
    metrics = sh(repo, "dvc", "metrics", "show")
    assert "metrics/evaluate.json" in metrics and "lightgbm.test.rmse" in metrics
    plots = json.loads(sh(repo, "dvc", "plots", "show", "--json"))["data"]
    assert {"Predicted vs actual (test split)", "Residuals (test split)"} <= plots.keys()
    assert any(name.startswith("plots/importance/") for name in plots)


def test_second_repro_runs_nothing(repo, first_repro):
    output = sh(repo, "dvc", "repro")
    assert stages_run(output) == set()
    assert "up to date" in output


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    """A local S3-compatible server (moto) on 127.0.0.1 with an empty bucket `housing-dvc`."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [BIN / "moto_server", "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    s3 = boto3.client(
        "s3", endpoint_url=url, aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )
    try:
        assert eventually(lambda: _bucket_created(s3), timeout=30)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def _bucket_created(s3) -> bool:
    try:
        s3.create_bucket(Bucket="housing-dvc")
    except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectionClosedError):
        return False
    return True


def cached_outputs(repo: Path) -> dict[str, str]:
    """sha256 of every file of the pipeline's cached outputs (raw data, splits, models)."""
    folders = [repo / "data" / "raw", repo / "data" / "processed", *(repo / "models").glob("*/")]
    files = [path for folder in folders for path in folder.rglob("*") if path.is_file() and path.name != ".gitignore"]
    return {str(path.relative_to(repo)): hashlib.sha256(path.read_bytes()).hexdigest() for path in files}


def test_outputs_round_trip_through_an_s3_remote(repo, first_repro, s3_endpoint):
    sh(repo, "dvc", "remote", "add", "s3", "s3://housing-dvc/store")
    sh(repo, "dvc", "remote", "modify", "s3", "endpointurl", s3_endpoint)
    sh(repo, "dvc", "remote", "modify", "--local", "s3", "access_key_id", "test")
    sh(repo, "dvc", "remote", "modify", "--local", "s3", "secret_access_key", "test")
    before = cached_outputs(repo)
    assert any(name.startswith("models/lightgbm/") for name in before)

    sh(repo, "dvc", "push", "-r", "s3")
    shutil.rmtree(repo / ".dvc" / "cache")
    for name in before:
        (repo / name).unlink()
    sh(repo, "dvc", "pull", "-r", "s3")

    assert cached_outputs(repo) == before


def test_changing_an_xgboost_param_reruns_only_its_dependents(repo, first_repro):
    output = sh(repo, "dvc", "exp", "run", "-S", "train.xgboost.max_depth=3")
    assert stages_run(output) == {"train@xgboost", "evaluate", "register"}
    versions = mlflow.MlflowClient(f"sqlite:///{repo / 'mlflow.db'}").search_model_versions(f"name='{MODEL_NAME}'")
    assert len(versions) == 2
    runs = mlflow.search_runs(
        experiment_names=[MODEL_NAME], output_format="list", filter_string="tags.model_family='xgboost'"
    )
    assert any("dvc.exp_name" in run.data.tags or "dvc.stage" in run.data.tags for run in runs)
