"""The Dask engine on one machine: it agrees with the local engine on about 20,000 rows, the work runs on
the workers, a scheduler and workers started as their own processes are reached through
DASK_SCHEDULER_ADDRESS, a worker killed mid-fit stops the fit with one line, and the train stage
fits an ordinary local model (tests/stages/test_train.py runs the stage). Every test is bounded in time."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from distributed import Client, get_task_stream

from housing.features import preprocessing
from housing.schema import RAW_COLUMNS, TARGET, TARGET_SCALE
from housing.scores import regression_scores
from stages.dask_engine import SCHEDULER_ADDRESS, dask_client, fit_on_dask
from stages.errors import StageError
from stages.families import fit_model
from stages.params import DaskParams, LightGBMParams, LinearParams, XGBoostParams
from stages.splits import TrainingData
from tests.support.processes import free_port
from tests.support.project import BIN
from tests.support.synthetic import housing_frame

pytestmark = pytest.mark.slow

BOUND_S = 240
BOOSTING = {"learning_rate": 0.1, "subsample": 0.9, "colsample_bytree": 0.9, "seeds": 1}
FAMILIES = {
    "linear": LinearParams(alpha=1.0),
    "xgboost": XGBoostParams(**BOOSTING, n_estimators=300, max_depth=5, min_child_weight=1, early_stopping_rounds=20),
    "lightgbm": LightGBMParams(
        **BOOSTING, n_estimators=150, num_leaves=15, min_child_samples=10, early_stopping_rounds=20
    ),
}
CLUSTER = DaskParams(workers=2, threads_per_worker=1, partitions=4)


@pytest.fixture(autouse=True)
def bounded() -> Iterator[None]:
    """Fail a test that runs past BOUND_S instead of letting a stuck cluster hang the suite."""

    def too_long(*_: object) -> None:
        raise TimeoutError(f"over {BOUND_S} s")

    previous = signal.signal(signal.SIGALRM, too_long)
    signal.alarm(BOUND_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def prepared() -> dict[str, np.ndarray]:
    """About 20,000 generated rows through the feature step: 16,000 to train on, 2,000 each to stop and score on."""
    frame = housing_frame(20_000, seed=11)
    X, y = frame[RAW_COLUMNS], np.sqrt(frame[TARGET].to_numpy() / TARGET_SCALE)
    features = preprocessing([3, 8], [4], 3, 0)
    return {
        "X": features.fit_transform(X[:16_000], y[:16_000]),
        "y": y[:16_000],
        "X_val": features.transform(X[16_000:18_000]),
        "y_val": y[16_000:18_000],
        "X_test": features.transform(X[18_000:]),
        "y_test": y[18_000:],
    }


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with dask_client(CLUSTER) as started:
        yield started


def training(prepared: dict[str, np.ndarray]) -> TrainingData[np.ndarray]:
    """The rows to train on and to stop early on, as a fit takes them."""
    return TrainingData(prepared["X"], prepared["y"], prepared["X_val"], prepared["y_val"])


def fit_both(client: Client, family: str, data: dict) -> tuple[object, object]:
    args = (family, FAMILIES[family], "cpu", 0, training(data))
    return fit_model(*args), fit_on_dask(client, CLUSTER.partitions, *args)


@pytest.mark.parametrize("family", ["xgboost", "lightgbm"])
def test_the_boosters_score_within_two_percent_of_the_local_engine(client, prepared, family):
    local, on_dask = fit_both(client, family, prepared)

    rmse = {
        engine: regression_scores(prepared["y_test"], model.predict(prepared["X_test"]))["rmse"]
        for engine, model in (("local", local), ("dask", on_dask))
    }

    assert rmse["dask"] == pytest.approx(rmse["local"], rel=0.02), rmse
    assert type(on_dask) is type(local)


def test_ridge_on_dask_is_scikit_learns_ridge_to_1e_6(client, prepared):
    local, on_dask = fit_both(client, "linear", prepared)

    np.testing.assert_allclose(on_dask.coef_, local.coef_, rtol=0, atol=1e-6)
    np.testing.assert_allclose(on_dask.predict(prepared["X_test"]), local.predict(prepared["X_test"]), atol=1e-6)


def test_the_fit_runs_on_the_workers_not_in_the_stage(client, prepared):
    pids = client.run(os.getpid)

    with get_task_stream(client) as stream:
        fit_on_dask(client, CLUSTER.partitions, "xgboost", FAMILIES["xgboost"], "cpu", 0, training(prepared))

    used = {pids[task["worker"]] for task in stream.data}
    assert used and os.getpid() not in used and used <= set(pids.values())


@pytest.fixture
def separate_cluster(tmp_path: Path) -> Iterator[tuple[str, list[subprocess.Popen]]]:
    """`dask scheduler` and two `dask worker` processes on 127.0.0.1 (no nanny: a killed worker stays dead)."""
    address = f"tcp://127.0.0.1:{free_port()}"
    log = (tmp_path / "cluster.log").open("w")
    port = address.rsplit(":", 1)[1]
    scheduler = subprocess.Popen(
        [BIN / "dask", "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"], stdout=log, stderr=log
    )
    workers = [
        subprocess.Popen(
            [BIN / "dask", "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard"], stdout=log, stderr=log
        )
        for _ in range(2)
    ]
    try:
        with Client(address, timeout=60) as probe:
            probe.wait_for_workers(2, timeout=60)
        yield address, workers
    finally:
        for process in [*workers, scheduler]:
            process.kill()
            process.wait(timeout=30)


def test_a_scheduler_and_workers_of_their_own_are_reached_through_the_address(separate_cluster, prepared, monkeypatch):
    address, workers = separate_cluster
    monkeypatch.setenv(SCHEDULER_ADDRESS, address)

    with dask_client(CLUSTER) as client:
        pids = set(client.run(os.getpid).values())
        model = fit_on_dask(client, 2, "lightgbm", FAMILIES["lightgbm"], "cpu", 0, training(prepared))

    assert pids == {worker.pid for worker in workers}
    assert np.isfinite(model.predict(prepared["X_test"])).all()


def test_a_worker_killed_mid_fit_stops_the_fit_with_one_line(separate_cluster, prepared, monkeypatch):
    address, workers = separate_cluster
    monkeypatch.setenv(SCHEDULER_ADDRESS, address)
    endless = FAMILIES["xgboost"].model_copy(update={"n_estimators": 100_000, "early_stopping_rounds": 100_000})

    with dask_client(CLUSTER) as client:
        threading.Timer(3, workers[1].kill).start()
        started = time.monotonic()
        with pytest.raises(StageError, match=r"^dask: worker tcp://127\.0\.0\.1:\d+ left the cluster during the fit"):
            fit_on_dask(client, 2, "xgboost", endless, "cpu", 0, training(prepared))

    assert time.monotonic() - started < 60
