"""The logged pipeline as a server predicts with it: single-threaded, and through an exact fast path.

On one row the pipeline's own `predict` spends more time in per-call overhead than in arithmetic:
scikit-learn's input checks at every step, XGBoost's per-call set-up, LightGBM's Python wrapper.
The fast path runs the same arithmetic on the same fitted objects without that overhead:

- the features: HousingFeatures' own transform, then StandardScaler's subtraction and division;
- XGBoost: its trees walked with numpy for a few rows (all trees at once, level by level, in float32,
  summed in tree order from the base score, as XGBoost's CPU predictor does), its own predict for more;
- LightGBM: its C API's single-row fast prediction for one row, its own predict for more;
- other scikit-learn estimators and the MLP: their own predict;
- the target wrapper's own inverse and the blend's own weighted sum;

all with scikit-learn's finiteness and parameter checks off (the request's validation already did
them). A fast path is only served once `prove` finds it bit-exact on the model's golden set.
"""

from __future__ import annotations

import ctypes
import json
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import lightgbm
import numpy as np
import pandas as pd
import sklearn
import xgboost
from lightgbm.basic import _LIB, _safe_call
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from housing.ensemble import WeightedAverage
from housing.features import HousingFeatures, RawColumns
from housing.golden import PREDICTION, edge_rows
from housing.mlp import TorchMLPRegressor
from housing.schema import NUMERIC_COLUMNS
from housing.target import LogTargetRegressor

Kernel = Callable[[np.ndarray], np.ndarray]
"""Scaled feature matrix -> the estimator's predictions, exactly as its `predict` computes them."""

SMALL_BATCH = 4
"""Up to this many rows XGBoost's trees are walked with numpy; above it, its own predict is faster."""

SINGLE_ROW_CHECKS = 200
"""Golden rows `prove` also predicts one at a time (every edge row among them), as requests come."""


def single_threaded(pipeline: Any) -> Any:
    """Set every `n_jobs` in the pipeline to 1: the same predictions, cheaper per call.

    With n_jobs unset LightGBM counts the machine's cores on every predict call, and forest or
    boosting libraries would start a thread per core in every server worker.
    """
    n_jobs = [name for name in pipeline.get_params(deep=True) if name.rsplit("__", 1)[-1] == "n_jobs"]
    return pipeline.set_params(**dict.fromkeys(n_jobs, 1))


class NoFastPath(Exception):
    """The pipeline holds a step the fast path does not cover; the message names it."""


@dataclass(frozen=True)
class FastPath:
    features: HousingFeatures
    scaler: StandardScaler
    model: Kernel
    kernels: dict[str, str]
    """Which computation stands in for each estimator, by its place in the pipeline."""

    def predict(self, raw: RawColumns) -> np.ndarray:
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            X = self.features.transform(raw)
            X -= self.scaler.mean_
            X /= self.scaler.scale_
            return self.model(X)


def fast_path(pipeline: Pipeline) -> FastPath:
    """The fast path through a fitted [features, scale, model] pipeline, or NoFastPath naming what it lacks."""
    steps = [step for _, step in pipeline.steps] if isinstance(pipeline, Pipeline) else [pipeline]
    if len(steps) != 3 or not isinstance(steps[0], HousingFeatures):
        raise NoFastPath(f"the pipeline's steps are not [HousingFeatures, StandardScaler, model]: {_names(steps)}")
    features, scaler, model = steps
    if not isinstance(scaler, StandardScaler) or not (scaler.with_mean and scaler.with_std):
        raise NoFastPath(f"the scaling step is not a centring and scaling StandardScaler: {scaler!r}")
    kernels: dict[str, str] = {}
    return FastPath(features, scaler, _kernel(model, pipeline.steps[-1][0], kernels), kernels)


def _kernel(estimator: Any, place: str, kernels: dict[str, str]) -> Kernel:
    """The kernel standing in for `estimator.predict`, noting in `kernels` what runs at `place`."""
    if isinstance(estimator, LogTargetRegressor):
        inner = _kernel(estimator.regressor, place, kernels)
        return lambda X: estimator.inverse(inner(X))
    if isinstance(estimator, WeightedAverage):
        members = [_kernel(member, f"{place}.{name}", kernels) for name, member in estimator.members]
        weights = estimator.weights
        return lambda X: np.sum([w * member(X) for member, w in zip(members, weights, strict=True)], axis=0)
    if isinstance(estimator, xgboost.XGBRegressor):
        kernels[place] = f"numpy tree walk up to {SMALL_BATCH} rows, XGBoost's predict above"
        return XGBoostTrees(estimator).predict
    if isinstance(estimator, lightgbm.LGBMRegressor):
        kernels[place] = "LightGBM C API single-row fast prediction, LightGBM's predict above one row"
        return LightGBMRows(estimator).predict
    if isinstance(estimator, TorchMLPRegressor) or type(estimator).__module__.startswith("sklearn."):
        kernels[place] = f"{type(estimator).__name__}.predict"
        return estimator.predict
    raise NoFastPath(f"no fast path for {type(estimator).__name__} at {place}")


def _names(steps: list[Any]) -> str:
    return ", ".join(type(step).__name__ for step in steps)


class XGBoostTrees:
    """An XGBoost regressor's trees as flat arrays, walked with numpy for small batches.

    Node arrays of all trees are concatenated; a right child always follows its left child, so one
    step from node i goes to left[i] + (x[feature[i]] >= threshold[i]). Leaves point at themselves
    with an infinite threshold, so walking `depth` steps leaves every row at a leaf of every tree.
    """

    def __init__(self, regressor: xgboost.XGBRegressor):
        self.regressor = regressor
        learner = json.loads(regressor.get_booster().save_raw("json"))["learner"]
        booster, objective = learner["gradient_booster"], learner["objective"]["name"]
        if booster["name"] != "gbtree" or objective != "reg:squarederror":
            raise NoFastPath(f"XGBoost {booster['name']} with {objective}: only gbtree reg:squarederror is covered")
        trees = booster["model"]["trees"]
        if len(trees) != regressor.get_booster().num_boosted_rounds():
            raise NoFastPath("XGBoost with several trees per round is not covered")
        trees = trees[: self._rounds(regressor)]
        if any(any(tree["split_type"]) for tree in trees):
            raise NoFastPath("XGBoost categorical splits are not covered")
        self.base_score = np.float32(float(learner["learner_model_param"]["base_score"].strip("[]")))
        self._flatten(trees)

    @staticmethod
    def _rounds(regressor: xgboost.XGBRegressor) -> int:
        """The trees XGBRegressor.predict uses: up to its best iteration when it stopped early."""
        booster = regressor.get_booster()
        best = booster.attributes().get("best_iteration")
        return int(best) + 1 if best is not None else booster.num_boosted_rounds()

    def _flatten(self, trees: list[dict]) -> None:
        sizes = np.array([len(tree["left_children"]) for tree in trees])
        self.roots = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        left = np.concatenate([tree["left_children"] for tree in trees]).astype(np.int64)
        internal = left != -1
        own = np.arange(len(left))
        self.left = np.where(internal, left + np.repeat(self.roots, sizes), own)
        self.feature = np.where(internal, np.concatenate([tree["split_indices"] for tree in trees]), 0)
        conditions = np.concatenate([tree["split_conditions"] for tree in trees]).astype(np.float32)
        self.threshold = np.where(internal, conditions, np.float32(np.inf)).astype(np.float32)
        self.leaf_value = conditions
        self.depth = max(_tree_depth(tree["left_children"], tree["right_children"]) for tree in trees)

    def predict(self, X: np.ndarray) -> np.ndarray:
        if len(X) > SMALL_BATCH or np.isnan(X).any():
            return self.regressor.predict(X)
        values = X.astype(np.float32)
        rows = np.arange(len(X))[:, None]
        node = np.broadcast_to(self.roots, (len(X), len(self.roots)))
        for _ in range(self.depth):
            node = self.left[node] + (values[rows, self.feature[node]] >= self.threshold[node])
        terms = np.column_stack([np.full(len(X), self.base_score), self.leaf_value[node]])
        return np.cumsum(terms, axis=1, dtype=np.float32)[:, -1]


def _tree_depth(left: list[int], right: list[int]) -> int:
    """Edges from the root to the deepest leaf (children are numbered after their parent)."""
    depth = [0] * len(left)
    for node, child in enumerate(left):
        if child != -1:
            depth[child] = depth[right[node]] = depth[node] + 1
    return max(depth)


class LightGBMRows:
    """A LightGBM regressor predicting one row through the C API's single-row fast path.

    The fast configuration holds buffers of its own, so calls share it under a lock (ctypes releases
    the GIL during the call).
    """

    def __init__(self, regressor: lightgbm.LGBMRegressor):
        self.regressor = regressor
        self._booster = regressor.booster_
        self._config = ctypes.c_void_p()
        self._lock = threading.Lock()
        self._out = np.empty(1, dtype=np.float64)
        self._out_length = ctypes.c_int64()
        predict_normal, float64 = 0, 1
        _safe_call(
            _LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
                self._booster._handle,
                ctypes.c_int(predict_normal),
                ctypes.c_int(0),
                ctypes.c_int(self._booster.best_iteration),
                ctypes.c_int(float64),
                ctypes.c_int32(self._booster.num_feature()),
                ctypes.c_char_p(b"num_threads=1"),
                ctypes.byref(self._config),
            )
        )
        weakref.finalize(self, _LIB.LGBM_FastConfigFree, self._config)

    def predict(self, X: np.ndarray) -> np.ndarray:
        if len(X) != 1:
            return np.asarray(self.regressor.predict(X))
        row = np.ascontiguousarray(X[0], dtype=np.float64)
        with self._lock:
            _safe_call(
                _LIB.LGBM_BoosterPredictForMatSingleRowFast(
                    self._config,
                    row.ctypes.data_as(ctypes.c_void_p),
                    ctypes.byref(self._out_length),
                    self._out.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
                )
            )
            return self._out.copy()


@dataclass(frozen=True)
class Proof:
    """What `prove` found: exact when the fast path matched the pipeline on every golden row."""

    exact: bool
    rows: int
    single_rows: int
    mismatches: int
    detail: str


def prove(path: FastPath, pipeline: Pipeline, golden: pd.DataFrame) -> Proof:
    """Compare the fast path with the pipeline's predict and the recorded predictions, bit for bit.

    All golden rows in one batch, and a spread of them (the edge rows, which come last, included) one
    at a time as requests bring them.
    """
    raw = columns_of(golden)
    recorded = golden[PREDICTION].to_numpy()
    slow = np.asarray(pipeline.predict(raw)).ravel()
    if not np.array_equal(slow, recorded, equal_nan=True):
        differ = int(np.sum(slow != recorded))
        detail = f"the pipeline's own predict differs from its evaluated predictions on {differ} golden rows"
        return Proof(False, len(golden), 0, differ, detail)
    mismatches = int(np.sum(~_same(path.predict(raw), slow)))
    spread = np.linspace(0, len(golden) - 1, SINGLE_ROW_CHECKS).astype(int)
    singles = np.union1d(spread, np.arange(max(len(golden) - len(edge_rows()), 0), len(golden)))
    for row in singles:
        one = {name: values[row : row + 1] for name, values in raw.items()}
        mismatches += int(not _same(path.predict(one), np.asarray(pipeline.predict(one)).ravel()).all())
    detail = "bit-exact" if mismatches == 0 else f"{mismatches} predictions differ from the pipeline's"
    return Proof(mismatches == 0, len(golden), len(singles), mismatches, detail)


def _same(fast: np.ndarray, slow: np.ndarray) -> np.ndarray:
    fast = np.asarray(fast).ravel()
    return (fast == slow) | (np.isnan(fast) & np.isnan(slow))


def columns_of(raw: pd.DataFrame | Mapping[str, Sequence[Any]]) -> dict[str, np.ndarray]:
    """Raw rows as the columns a server predicts on (housing.features.RawColumns): the numbers as floats
    (a missing one NaN), ocean_proximity as objects. From a frame (a golden set) or from each column's
    values (a request's records)."""
    columns = {name: np.asarray(raw[name], dtype=float) for name in NUMERIC_COLUMNS}
    columns["ocean_proximity"] = np.asarray(raw["ocean_proximity"], dtype=object)
    return columns
