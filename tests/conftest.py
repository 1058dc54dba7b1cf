"""Shared fixtures: a project copy to run stages in, generated data, a fresh MLflow store per test, a
repository whose pipeline has run once, the project's images, PostgreSQL and Chromium. The helpers
they are made of live in tests/support/, which tests import.

Nothing here imports MLflow at module level: bench/gpu_run.sh runs tests/stages/test_gpu.py on GPU
machines that may lack it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from stages.ingest import with_block_ids
from tests.support.browser import chromium
from tests.support.params import TINY_PARAMS, write_params
from tests.support.project import shared_temp
from tests.support.synthetic import housing_frame
from tests.support.tracking import fresh_store

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from tests.support.servers import Postgres

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # model loads in tests are not terminals
os.environ.pop("MLFLOW_TRACKING_URI", None)  # `make test` exports the checkout's store: tests use their own


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
    uri = fresh_store(tmp_path / "store", migrated_store)
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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the files that need trained_repo last, so its build (started at once, in the background)
    is done when they start rather than keeping a worker waiting."""
    needing = {item.module.__name__ for item in items if "trained_repo" in item.fixturenames}
    items.sort(key=lambda item: item.module.__name__ in needing)


@pytest.fixture(scope="session", autouse=True)
def trained_repo_in_the_background(request: pytest.FixtureRequest, tmp_path_factory, worker_id: str) -> None:
    """When a collected test needs trained_repo, start building it now, beside the first tests, so
    nobody waits for the pipeline's `dvc repro` when they get there."""
    if any("trained_repo" in item.fixturenames for item in request.session.items):
        from tests.support.dvc_repo import build_trained_repo

        shared = shared_temp(tmp_path_factory, worker_id)
        threading.Thread(target=build_trained_repo, args=(shared,), name="trained-repo", daemon=True).start()


@pytest.fixture(scope="session")
def trained_repo(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """The repository of build_trained_repo; tests copy it (`copy_repo`) rather than change it."""
    from tests.support.dvc_repo import build_trained_repo

    return build_trained_repo(shared_temp(tmp_path_factory, worker_id))


@pytest.fixture
def repo(trained_repo: Path, tmp_path: Path) -> Path:
    """A private copy of trained_repo for one test to change."""
    from tests.support.dvc_repo import copy_repo

    return copy_repo(trained_repo, tmp_path)


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Headless Chromium (tests/support/browser.py), as `make browser` installs it."""
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL 15 cluster for this test process; tests skip where PostgreSQL is not installed.

    Its folder is outside pytest's temporary folders, which only their owner may enter: as root the
    cluster belongs to `nobody`.
    """
    from tests.support.servers import postgres_binary, postgres_server

    if postgres_binary("initdb") is None:
        pytest.skip("PostgreSQL is not installed: run `make postgres`")
    folder = Path(tempfile.mkdtemp(prefix="postgres-"))
    try:
        with postgres_server(folder) as server:
            yield server
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def project_image(
    tmp_path_factory: pytest.TempPathFactory, testrun_uid: str, worker_id: str
) -> Iterator[Callable[[str], str]]:
    """`project_image(target)`: the Dockerfile's target built once per test run, whichever xdist workers
    ask for it, under a tag of this run; removed with what its build left behind when the last worker
    using it ends (one asking later builds it again, from podman's layer cache if it is still there)."""
    from filelock import FileLock

    from tests.support.containers import TEST_TAGS, build, podman

    shared = shared_temp(tmp_path_factory, worker_id)
    used: list[str] = []

    def built(target: str) -> str:
        tag = f"{TEST_TAGS[target]}:test-{testrun_uid[:12]}"
        users = shared / f"image-{target}.users"
        with FileLock(str(shared / f"image-{target}.lock")):
            if not users.is_dir():
                build(target, tag, shared / f"image-{target}.log")
                users.mkdir()
            (users / worker_id).touch()
        if target not in used:
            used.append(target)
        return tag

    yield built
    for target in used:
        users = shared / f"image-{target}.users"
        with FileLock(str(shared / f"image-{target}.lock")):
            (users / worker_id).unlink()
            if not any(users.iterdir()):
                users.rmdir()
                podman("rmi", f"{TEST_TAGS[target]}:test-{testrun_uid[:12]}", check=False)
                podman("image", "prune", "-f", check=False)
