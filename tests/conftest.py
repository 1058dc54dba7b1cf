"""Shared fixtures: a project copy to run stages in, generated data, a fresh MLflow store per test, and
a repository whose pipeline has run once.

Nothing here imports MLflow at module level: the lent GPU machine runs tests/stages/test_gpu.py
without it."""

from __future__ import annotations

import contextlib
import importlib
import io
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest
import yaml

from bench.browser import CHROMIUM, chromium
from stages.ingest import with_block_ids
from tests.synthetic import housing_frame

if TYPE_CHECKING:
    import mlflow

    from tests.servers import Postgres

PROJECT = Path(__file__).resolve().parents[1]
pytest_plugins = ["tests.containers"]  # project_image, the images built once per test run
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # model loads in tests are not terminals
os.environ.pop("MLFLOW_TRACKING_URI", None)  # `make test` exports the checkout's store: tests use their own
T = TypeVar("T")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed: run `make browser`")

TINY_PARAMS = {
    "preprocess": {"val_fraction": 0.2, "test_fraction": 0.2},
    "features": {"neighbours": [3, 8], "similar": [4], "folds": 3},
    "train": {
        "random_forest": {"n_estimators": 10},
        "xgboost": {"n_estimators": 40, "early_stopping_rounds": 10},
        "lightgbm": {"n_estimators": 40, "early_stopping_rounds": 10, "min_child_samples": 5},
        "mlp": {"hidden_layers": [16], "epochs": 5, "batch_size": 64},
    },
    "register": {"min_rows": 10},
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


def run_module(workdir: Path, module: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `python -m <module> ARGS` in `workdir` (a stage as DVC would run it, or an ops command);
    never raises on failure."""
    environment = {**os.environ, "PYTHONPATH": str(PROJECT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=workdir, env=environment, capture_output=True, text=True
    )


def run_stage(workdir: Path, stage: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the stage module `stages.<stage>` in `workdir`, as DVC would."""
    return run_module(workdir, f"stages.{stage}", *args, env=env)


def call_stage(workdir: Path, stage: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `stages.<stage>`'s main in this process as DVC would run the module: arguments, working
    directory and environment set, stdout, stderr and the exit status captured. For the stages that
    touch no MLflow (ingest, drift, preprocess): the same code as run_stage without an interpreter's
    start-up per call. The end-to-end tests run every stage through DVC."""
    main = importlib.import_module(f"stages.{stage}").main
    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(workdir)
        patch.setattr(sys, "argv", [f"stages.{stage}", *args])
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                main()
                returncode = 0
            except SystemExit as exit_:
                returncode = exit_.code if isinstance(exit_.code, int) else 1
    return subprocess.CompletedProcess(args, returncode, stdout.getvalue(), stderr.getvalue())


def in_forked_child(function: Callable[..., T], *args: object) -> T:
    """`function(*args)` in a forked child: it has every module imported already, and whatever global
    state it sets (MLflow's tracking URI, active run, sys.modules) dies with it."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork")) as child:
        return child.submit(function, *args).result()


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


def registered_model(store_uri: str, name: str, alias: str) -> mlflow.pyfunc.PyFuncModel:
    """The version `alias` names, loaded through pyfunc as evaluate loads models (no global MLflow state)."""
    import mlflow

    return registered_version(
        store_uri, name, mlflow.MlflowClient(store_uri).get_model_version_by_alias(name, alias).version
    )


def registered_version(store_uri: str, name: str, version: int | str) -> mlflow.pyfunc.PyFuncModel:
    """A registered version, loaded as registered_model loads one."""
    import mlflow

    location = mlflow.MlflowClient(store_uri, store_uri).get_model_version_download_uri(name, str(version))
    return mlflow.pyfunc.load_model(mlflow.artifacts.download_artifacts(location, tracking_uri=store_uri))


def logged_runs(store_uri: str, experiment: str, filter_string: str = "") -> list[mlflow.entities.Run]:
    import mlflow

    client = mlflow.MlflowClient(store_uri)
    return client.search_runs([client.get_experiment_by_name(experiment).experiment_id], filter_string)


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
    with_block_ids(housing_frame(400)).to_csv(work / "data" / "raw" / "housing.csv", index=False)
    return work


def build_trained_repo(shared: Path) -> Path:
    """A git + DVC repository whose pipeline has run once and been committed: a champion is registered,
    nothing is pending. Built once per test run in `shared`, by whoever gets there first; `repro.log`
    beside it holds that first run's output."""
    from filelock import FileLock

    from tests.dvc_repo import commit, make_repo, sh

    root = shared / "trained-repo"
    with FileLock(str(shared / "trained-repo.lock")):
        if not (root / "repro.log").exists():
            root.mkdir(exist_ok=True)
            repo = make_repo(root, {"retrain": {"min_feedback": 20}})
            output = sh(repo, "dvc", "repro")
            commit(repo, "first run")
            (root / "repro.log").write_text(output)
    return root / "repo"


def shared_temp(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """This run's temporary folder that every xdist worker sees."""
    return tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the files that need trained_repo last, so its build (started at once, in the background)
    is done when they start rather than keeping a worker waiting."""
    needing = {item.module.__name__ for item in items if "trained_repo" in item.fixturenames}
    items.sort(key=lambda item: item.module.__name__ in needing)


@pytest.fixture(scope="session", autouse=True)
def trained_repo_in_the_background(request: pytest.FixtureRequest, tmp_path_factory, worker_id: str) -> None:
    """When a collected test needs trained_repo, start building it now, beside the first tests, so
    nobody waits for a `dvc repro` of a minute when they get there."""
    if any("trained_repo" in item.fixturenames for item in request.session.items):
        shared = shared_temp(tmp_path_factory, worker_id)
        threading.Thread(target=build_trained_repo, args=(shared,), name="trained-repo", daemon=True).start()


@pytest.fixture(scope="session")
def trained_repo(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """The repository of build_trained_repo; tests copy it (`copy_repo`) rather than change it."""
    return build_trained_repo(shared_temp(tmp_path_factory, worker_id))


def copy_repo(repo: Path, into: Path) -> Path:
    """A private copy of a repository (its MLflow store included) for tests to change."""
    return Path(shutil.copytree(repo, into / "repo", symlinks=True))


@pytest.fixture
def repo(trained_repo: Path, tmp_path: Path) -> Path:
    """A private copy of trained_repo for one test to change."""
    return copy_repo(trained_repo, tmp_path)


@pytest.fixture
def browser() -> Iterator:
    """Headless Chromium (bench/browser.py), as `make browser` installs it."""
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL 15 cluster for this test process; tests skip where PostgreSQL is not installed.

    Its folder is outside pytest's temporary folders, which only their owner may enter: as root the
    cluster belongs to `nobody`.
    """
    from tests.servers import postgres_binary, postgres_server

    if postgres_binary("initdb") is None:
        pytest.skip("PostgreSQL is not installed: run `make postgres`")
    folder = Path(tempfile.mkdtemp(prefix="postgres-"))
    try:
        with postgres_server(folder) as server:
            yield server
    finally:
        shutil.rmtree(folder, ignore_errors=True)
