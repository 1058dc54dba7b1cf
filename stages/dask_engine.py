"""The Dask engine (`engine: dask` in params.yaml): XGBoost, LightGBM and the linear model fitted on a cluster.

The feature step stays in the stage process (its out-of-fold neighbour queries need every training
block at once); its matrix goes to the cluster in `dask.partitions` row chunks. The fitted model
comes back as the same local estimator the local engine makes, so the logged pipeline, evaluate and
serving never import Dask, and MLflow logging stays in the stage process.

- XGBoost: `xgboost.dask`, stopping early on the validation set as a Dask collection.
- LightGBM: `lightgbm.dask` at its full `n_estimators`, then the number of rounds chosen on the
  validation set (the model keeps them all and predicts with the best count). Its Dask early
  stopping is unreliable upstream (hangs and socket errors), so it is not used.
- linear: ridge regression solved exactly from XᵀX and Xᵀy, computed on `dask.array`.
- random forest and the MLP fit locally: scikit-learn's forest has no distributed fit, and the MLP
  trains in one torch process.

The cluster is the scheduler DASK_SCHEDULER_ADDRESS names, or else a LocalCluster of processes the
stage starts and stops. XGBoost's and LightGBM's workers wait for each other, so a worker lost
during a fit would leave the others waiting forever: the fit is watched, and the stage stops with
one line as soon as a worker leaves the cluster.
"""

from __future__ import annotations

import functools
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import dask.array as da
import lightgbm
import numpy as np
import xgboost
import xgboost.dask
from distributed import Client, LocalCluster
from sklearn.base import RegressorMixin
from sklearn.linear_model import Ridge

from stages.errors import StageError
from stages.families import FitModel, Prepared, bagged, fit_model, lightgbm_settings, xgboost_settings
from stages.params import DaskParams, Engine, LightGBMParams, LinearParams, Section, XGBoostParams

SCHEDULER_ADDRESS = "DASK_SCHEDULER_ADDRESS"
CONNECT_TIMEOUT_S = 30
WATCH_EVERY_S = 1.0
LOSS_NOTICED_S = 5.0
"""How long after a failed fit the scheduler may take to notice the worker whose loss failed it."""
LOSS_CONFIRMED_S = 3.0
"""How long a worker must be gone from the scheduler before it counts as lost."""
T = TypeVar("T")
Chunks = dict[str, da.Array]
"""The prepared data on the cluster: X, y, X_val and y_val as Dask arrays of training-row chunks."""


@contextmanager
def training_engine(engine: Engine, family: str, params: DaskParams) -> Iterator[FitModel]:
    """The function that fits `family` under `engine`: on the cluster for the Dask families, else locally."""
    if engine == "local" or family not in DASK_FIT:
        yield fit_model
        return
    with dask_client(params) as client:
        yield functools.partial(fit_on_dask, client, params.partitions)


@contextmanager
def dask_client(params: DaskParams) -> Iterator[Client]:
    """A client of the scheduler at DASK_SCHEDULER_ADDRESS, or of a LocalCluster started for the stage."""
    address = os.environ.get(SCHEDULER_ADDRESS)
    if address:
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT_S)
        except OSError as error:
            raise StageError(f"{SCHEDULER_ADDRESS}={address}: cannot reach the Dask scheduler ({error})") from None
        with client:
            yield client
        return
    cluster = LocalCluster(
        n_workers=params.workers,
        threads_per_worker=params.threads_per_worker,
        processes=True,
        dashboard_address=None,
    )
    with cluster, Client(cluster) as client:
        yield client


def fit_on_dask(
    client: Client, partitions: int, name: str, params: Section, device: str, seed: int, data: Prepared
) -> RegressorMixin:
    """fit_model's twin on the cluster, for the families in DASK_FIT."""
    if device != "cpu":
        raise StageError(f"engine dask trains on CPUs (device resolved to {device}): set device to cpu or auto")
    fit = DASK_FIT[name]
    chunks = on_cluster(data, partitions)
    return while_every_worker_stays(client, lambda: fit(client, params, seed, data, chunks))


def on_cluster(data: Prepared, partitions: int) -> Chunks:
    """The prepared data as Dask arrays of `partitions` chunks of training rows, by the names of its fields."""
    rows = -(-len(data.X) // partitions)
    return {
        "X": da.from_array(np.asarray(data.X), chunks=(rows, -1)),
        "y": da.from_array(np.asarray(data.y), chunks=rows),
        "X_val": da.from_array(np.asarray(data.X_val), chunks=(rows, -1)),
        "y_val": da.from_array(np.asarray(data.y_val), chunks=rows),
    }


def while_every_worker_stays(client: Client, fit: Callable[[], T]) -> T:
    """`fit()`, or a StageError as soon as a worker the cluster had at the start has been gone from it
    for LOSS_CONFIRMED_S (also when the library noticed first and failed on the workers that stayed).
    A worker whose connection drops under load reconnects at its address within that time, and the
    fit goes on."""
    workers = set(client.scheduler_info(n_workers=-1)["workers"])
    missing_since: dict[str, float] = {}

    def stop_if_a_worker_is_lost() -> None:
        now = time.monotonic()
        missing = workers - set(client.scheduler_info(n_workers=-1)["workers"])
        for worker in set(missing_since) - missing:
            del missing_since[worker]
        for worker in missing:
            missing_since.setdefault(worker, now)
        lost = sorted(worker for worker, since in missing_since.items() if now - since >= LOSS_CONFIRMED_S)
        if lost:
            raise StageError(f"dask: worker {lost[0]} left the cluster during the fit; the stage stops")

    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["model"] = fit()
        except BaseException as error:  # raised again in the stage's thread below; a lost worker can
            outcome["error"] = error  # surface as asyncio's CancelledError, which is no Exception

    thread = threading.Thread(target=run, name="dask-fit", daemon=True)
    thread.start()
    while thread.is_alive():
        stop_if_a_worker_is_lost()
        thread.join(WATCH_EVERY_S)
    if "error" in outcome:
        deadline = time.monotonic() + LOSS_NOTICED_S + LOSS_CONFIRMED_S
        while time.monotonic() < deadline:
            stop_if_a_worker_is_lost()
            time.sleep(WATCH_EVERY_S)
        raise outcome["error"]
    return outcome["model"]


def fit_xgboost(client: Client, p: XGBoostParams, seed: int, data: Prepared, chunks: Chunks) -> RegressorMixin:
    return bagged(p.seeds, seed, lambda each: fit_one_xgboost(client, p, each, chunks))


def fit_one_xgboost(client: Client, p: XGBoostParams, seed: int, chunks: Chunks) -> xgboost.XGBRegressor:
    """One booster on the cluster, stopping early on the validation set, saved and loaded as a local one."""
    booster = xgboost.dask.DaskXGBRegressor(**xgboost_settings(p, seed))
    booster.client = client
    booster.fit(chunks["X"], chunks["y"], eval_set=[(chunks["X_val"], chunks["y_val"])], verbose=False)
    local = xgboost.XGBRegressor()
    with tempfile.TemporaryDirectory(prefix="xgboost-") as scratch:
        path = Path(scratch) / "model.json"
        booster.save_model(path)
        local.load_model(path)
    return local


def fit_lightgbm(client: Client, p: LightGBMParams, seed: int, data: Prepared, chunks: Chunks) -> RegressorMixin:
    return bagged(p.seeds, seed, lambda each: fit_one_lightgbm(client, p, each, data, chunks))


def fit_one_lightgbm(
    client: Client, p: LightGBMParams, seed: int, data: Prepared, chunks: Chunks
) -> lightgbm.LGBMRegressor:
    """One booster on the cluster at its full rounds; it predicts with the round count best on validation."""
    booster = lightgbm.DaskLGBMRegressor(client=client, **lightgbm_settings(p, seed))
    local = booster.fit(chunks["X"], chunks["y"]).to_local()
    local.booster_.best_iteration = best_round(local.booster_, np.asarray(data.X_val), data.y_val)
    return local


def best_round(booster: lightgbm.Booster, X_val: np.ndarray, y_val: np.ndarray) -> int:
    """The number of rounds whose predictions have the lowest squared error on the validation rows."""
    predicted = np.zeros(len(X_val))
    errors = []
    for round_index in range(booster.current_iteration()):
        predicted += booster.predict(X_val, start_iteration=round_index, num_iteration=1, raw_score=True)
        errors.append(np.mean((predicted - y_val) ** 2))
    return int(np.argmin(errors)) + 1


def fit_linear(client: Client, p: LinearParams, seed: int, data: Prepared, chunks: Chunks) -> Ridge:
    """Ridge regression as scikit-learn fits it (centred X and y), solved from XᵀX and Xᵀy on the cluster."""
    X, y = chunks["X"], chunks["y"]
    x_mean, y_mean = X.mean(axis=0), y.mean()
    centred = X - x_mean
    gram, moment, x_mean, y_mean = client.compute(
        [centred.T @ centred, centred.T @ (y - y_mean), x_mean, y_mean], sync=True
    )
    ridge = Ridge(alpha=p.alpha)
    ridge.coef_ = np.linalg.solve(gram + p.alpha * np.eye(len(gram)), moment)
    ridge.intercept_ = float(y_mean - x_mean @ ridge.coef_)
    ridge.n_features_in_ = len(gram)
    return ridge


DASK_FIT: dict[str, Callable[..., RegressorMixin]] = {
    "linear": fit_linear,
    "xgboost": fit_xgboost,
    "lightgbm": fit_lightgbm,
}
"""The families the Dask engine fits on the cluster; the others fit locally under either engine."""
