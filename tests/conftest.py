"""Shared fixtures: a project copy to run stages in, generated data, a fresh MLflow store per test."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
import yaml

from tests.synthetic import housing_frame

PROJECT = Path(__file__).resolve().parents[1]
T = TypeVar("T")

TINY_PARAMS = {
    "preprocess": {"val_fraction": 0.2, "test_fraction": 0.2},
    "features": {"neighbours": [3, 8], "folds": 3},
    "train": {
        "random_forest": {"n_estimators": 10},
        "xgboost": {"n_estimators": 40, "early_stopping_rounds": 10},
        "lightgbm": {"n_estimators": 40, "early_stopping_rounds": 10, "min_child_samples": 5},
        "mlp": {"hidden_layers": [16], "epochs": 5, "batch_size": 64},
    },
}


def deep_update(base: dict, changes: dict) -> dict:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_update(base[key], value)
        else:
            base[key] = value
    return base


def write_params(workdir: Path, changes: dict) -> None:
    """Write the project's params.yaml into `workdir`, with `changes` merged in."""
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    (workdir / "params.yaml").write_text(yaml.safe_dump(deep_update(params, changes), sort_keys=False))


def run_stage(workdir: Path, module: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `python -m stages.<module> ARGS` in `workdir`, as DVC would; never raises on failure."""
    environment = {**os.environ, "PYTHONPATH": str(PROJECT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", f"stages.{module}", *args], cwd=workdir, env=environment, capture_output=True, text=True
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def eventually(read: Callable[[], T], timeout: float = 30) -> T:
    """Call `read` until it returns something truthy or `timeout` passes; return its last value."""
    deadline = time.monotonic() + timeout
    while not (value := read()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


@pytest.fixture(scope="session")
def migrated_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow SQLite database with the schema already migrated (migration costs seconds)."""
    database = tmp_path_factory.mktemp("store") / "mlflow.db"
    subprocess.run(
        [sys.executable, "-c", f"import mlflow; mlflow.MlflowClient('sqlite:///{database}').search_experiments()"],
        check=True,
        capture_output=True,
    )
    return database


@pytest.fixture
def mlflow_uri(tmp_path: Path, migrated_store: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh MLflow store for this test, in MLFLOW_TRACKING_URI for the stages it runs."""
    store = tmp_path / "store"
    store.mkdir()
    shutil.copy(migrated_store, store / "mlflow.db")
    uri = f"sqlite:///{store / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A scratch directory holding tiny params and a generated raw CSV at data/raw/housing.csv."""
    work = tmp_path / "work"
    (work / "data" / "raw").mkdir(parents=True)
    write_params(work, TINY_PARAMS)
    housing_frame(400).to_csv(work / "data" / "raw" / "housing.csv", index=False)
    return work
