"""End to end: real `dvc repro` in a temporary git + DVC repository, on generated data, tiny params."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pytest

from housing.schema import RAW_COLUMNS
from stages.params import CANDIDATES, MODEL_PARAMS
from tests.support.dvc_repo import copy_repo, sh, stages_run
from tests.support.project import BIN
from tests.support.servers import s3_server
from tests.support.synthetic import housing_frame
from tests.support.tracking import MODEL_NAME, logged_runs, registered_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def repo(trained_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's copy of the repository whose pipeline has run once on generated data."""
    return copy_repo(trained_repo, tmp_path_factory.mktemp("e2e"))


@pytest.fixture(scope="module")
def first_repro(trained_repo: Path) -> str:
    """What that first `dvc repro` printed."""
    return (trained_repo.parent / "repro.log").read_text()


def test_repro_runs_every_stage_and_registers_a_champion(repo, first_repro):
    families = list(MODEL_PARAMS)
    assert stages_run(first_repro) == {
        "ingest",
        "drift",
        "preprocess",
        "blend",
        "evaluate",
        "register",
        *(f"train@{f}" for f in families),
    }

    store = f"sqlite:///{repo / 'mlflow.db'}"
    champion = registered_model(store, MODEL_NAME, "champion")
    raw = housing_frame(4, seed=9)[RAW_COLUMNS]
    raw.loc[1, "total_bedrooms"] = np.nan
    predicted = np.asarray(champion.predict(raw)).ravel()
    assert predicted.shape == (4,) and np.isfinite(predicted).all()
    assert (repo / "mlartifacts").is_dir() and not (repo / "mlruns").exists()

    runs = logged_runs(store, MODEL_NAME)
    assert {run.data.tags["model_family"] for run in runs} == set(CANDIDATES)
    assert all(run.data.tags["mlflow.source.git.commit"] for run in runs)


def test_dvc_shows_one_row_of_scores_per_candidate_and_the_plots(repo, first_repro):
    metrics = sh(repo, "dvc", "metrics", "show").splitlines()
    scores = ["test_mae", "test_r2", "test_rmse", "val_mae", "val_r2", "val_rmse"]
    blend = json.loads((repo / "reports/train/blend.json").read_text())
    weights = sorted(f"weight_{family}" for family, weight in blend["weights"].items() if weight > 0)
    assert metrics[0].split() == ["Path", *scores, *weights], "six scores each, and the blend's weights"
    assert sorted(line.split()[0] for line in metrics[1:]) == sorted(
        f"metrics/{candidate}.json" for candidate in CANDIDATES
    )
    plots = json.loads(sh(repo, "dvc", "plots", "show", "--json"))["data"]
    for folder in ("predictions", "residuals"):
        assert {f"plots/{folder}/{candidate}.csv" for candidate in CANDIDATES} <= plots.keys()
    assert "plots/importance/blend.csv" in plots

    table = sh(repo, "python", "-m", "ops.results").splitlines()
    receipt = json.loads((repo / "reports" / "registered.json").read_text())
    assert [line.split()[0] for line in table[1 : 1 + len(CANDIDATES)]] == list(CANDIDATES)
    assert f"{receipt['model_family']} *" in "\n".join(table)


def test_second_repro_runs_nothing(repo, first_repro):
    output = sh(repo, "dvc", "repro")
    assert stages_run(output) == set()
    assert "up to date" in output


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    """A local S3-compatible server (moto) on 127.0.0.1 with an empty bucket `housing-dvc`."""
    with s3_server("housing-dvc") as url:
        yield url


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


def test_changing_a_blend_members_param_reruns_only_its_dependents(repo, first_repro):
    """Run as `.venv/bin/dvc exp run` with no virtualenv on PATH: the stages still find the project's."""
    (repo / ".venv").symlink_to(sys.prefix)
    bare = {"PATH": os.defpath, "VIRTUAL_ENV": ""}
    output = sh(repo, str(BIN / "dvc"), "exp", "run", "-S", "train.xgboost.max_depth=3", env=bare)
    assert stages_run(output) == {"train@xgboost", "blend", "evaluate", "register"}
    versions = mlflow.MlflowClient(f"sqlite:///{repo / 'mlflow.db'}").search_model_versions(f"name='{MODEL_NAME}'")
    assert len(versions) == 2
    runs = logged_runs(f"sqlite:///{repo / 'mlflow.db'}", MODEL_NAME, "tags.model_family='xgboost'")
    assert any("dvc.exp_name" in run.data.tags or "dvc.stage" in run.data.tags for run in runs)
