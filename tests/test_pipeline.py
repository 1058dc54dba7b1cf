"""End to end: real `dvc repro` in a temporary git + DVC repository, on generated data, tiny params."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import botocore.exceptions
import mlflow
import numpy as np
import pytest

from stages.schema import FEATURES
from tests.conftest import PROJECT, TINY_PARAMS, deep_update, eventually, free_port, write_params
from tests.synthetic import housing_frame

BIN = Path(sys.executable).parent
MODEL_NAME = "california-housing"


def sh(repo: Path, *command: str) -> str:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    environment["PATH"] = f"{BIN}{os.pathsep}{environment['PATH']}"
    result = subprocess.run(command, cwd=repo, env=environment, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def stages_run(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git + DVC repository holding the project's pipeline and a generated source CSV."""
    root = tmp_path_factory.mktemp("e2e")
    source = root / "source.csv"
    housing_frame(600, seed=1).to_csv(source, index=False)
    repo = root / "repo"
    repo.mkdir()
    for name in ("dvc.yaml", ".gitignore"):
        shutil.copy(PROJECT / name, repo / name)
    shutil.copytree(PROJECT / "stages", repo / "stages", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(PROJECT / "data" / "incoming", repo / "data" / "incoming")
    write_params(repo, deep_update({"ingest": {"source": str(source), "sha256": None}}, TINY_PARAMS))
    sh(repo, "git", "init", "-q", "-b", "main")
    sh(repo, "git", "config", "user.email", "test@example.com")
    sh(repo, "git", "config", "user.name", "test")
    sh(repo, "dvc", "init", "-q")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-q", "-m", "pipeline")
    return repo


@pytest.fixture(scope="module")
def first_repro(repo: Path) -> str:
    output = sh(repo, "dvc", "repro")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-q", "-m", "first run")
    return output


def test_repro_runs_every_stage_and_registers_a_champion(repo, first_repro):
    families = ["linear", "random_forest", "xgboost", "lightgbm", "mlp"]
    assert stages_run(first_repro) == {
        "ingest",
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
