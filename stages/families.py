"""The model families' builders: how each one is built from its params and fitted on prepared features.

Every family gets the same call, with training and validation features already transformed by the
shared preprocessing; families that support it stop early on the validation set. `device` is
"cpu" or "cuda", and the same code path serves both: XGBoost and LightGBM take it as a setting, the
MLP moves to it, and linear and random forest fit with cuML where it is installed, converted back
to their scikit-learn twins (`as_sklearn()`) so every logged model predicts on a CPU-only server.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import lightgbm
import numpy as np
import pandas as pd
import xgboost
from sklearn.base import RegressorMixin
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline

from housing.ensemble import equal_weights
from housing.features import preprocessing
from housing.mlp import TorchMLPRegressor
from housing.target import TARGET_REGRESSORS
from stages.params import (
    FeatureParams,
    LightGBMParams,
    LinearParams,
    MLPParams,
    RandomForestParams,
    Section,
    XGBoostParams,
)
from stages.splits import TrainingData

Prepared = TrainingData[np.ndarray]
"""The training data after the shared feature step: feature matrices, and the target the family is fitted on."""
FitModel = Callable[[str, Section, str, int, Prepared], RegressorMixin]
"""fit_model's signature: how the engine (stages.dask_engine) hands fit_pipeline another way to fit."""


def cuml_or_none(device: str) -> ModuleType | None:
    """cuML (the optional `cuml` install) when training on CUDA and it is importable, else None."""
    if device != "cuda":
        return None
    try:
        import cuml
    except ImportError:
        return None
    return cuml


def fit_linear(p: LinearParams, device: str, seed: int, data: Prepared) -> Ridge:
    if cuml := cuml_or_none(device):
        return cuml.Ridge(alpha=p.alpha).fit(data.X, data.y).as_sklearn()
    return Ridge(alpha=p.alpha).fit(data.X, data.y)


def fit_random_forest(p: RandomForestParams, device: str, seed: int, data: Prepared) -> RandomForestRegressor:
    settings = {
        "n_estimators": p.n_estimators,
        "max_depth": p.max_depth,
        "min_samples_leaf": p.min_samples_leaf,
        "max_features": p.max_features,
        "random_state": seed,
    }
    if cuml := cuml_or_none(device):
        return cuml.ensemble.RandomForestRegressor(**settings).fit(data.X, data.y).as_sklearn()
    return RandomForestRegressor(**settings, n_jobs=-1).fit(data.X, data.y)


def bagged(seeds: int, seed: int, fit_one: Callable[[int], RegressorMixin]) -> RegressorMixin:
    """One booster per seed (seed, seed + 1, ...), averaged; with one seed, the booster itself.

    The boosters differ only in their row and column subsamples, so their mean has less variance
    than any one of them.
    """
    if seeds == 1:
        return fit_one(seed)
    return equal_weights([(f"seed_{each}", fit_one(each)) for each in range(seed, seed + seeds)])


def fit_xgboost(p: XGBoostParams, device: str, seed: int, data: Prepared) -> RegressorMixin:
    return bagged(p.seeds, seed, lambda each: fit_one_xgboost(p, device, each, data))


def xgboost_settings(p: XGBoostParams, seed: int) -> dict[str, Any]:
    """An XGBoost regressor's settings from its params, the same for the local and the Dask engine."""
    return {
        "n_estimators": p.n_estimators,
        "learning_rate": p.learning_rate,
        "max_depth": p.max_depth,
        "min_child_weight": p.min_child_weight,
        "subsample": p.subsample,
        "colsample_bytree": p.colsample_bytree,
        "early_stopping_rounds": p.early_stopping_rounds,
        "tree_method": "hist",
        "random_state": seed,
    }


def fit_one_xgboost(p: XGBoostParams, device: str, seed: int, data: Prepared) -> xgboost.XGBRegressor:
    booster = xgboost.XGBRegressor(**xgboost_settings(p, seed), device=device)
    booster.fit(data.X, data.y, eval_set=[(data.X_val, data.y_val)], verbose=False)
    booster.set_params(device="cpu")
    return booster


def fit_lightgbm(p: LightGBMParams, device: str, seed: int, data: Prepared) -> RegressorMixin:
    return bagged(p.seeds, seed, lambda each: fit_one_lightgbm(p, device, each, data))


def lightgbm_settings(p: LightGBMParams, seed: int) -> dict[str, Any]:
    """A LightGBM regressor's settings from its params, the same for the local and the Dask engine."""
    return {
        "n_estimators": p.n_estimators,
        "learning_rate": p.learning_rate,
        "num_leaves": p.num_leaves,
        "min_child_samples": p.min_child_samples,
        "subsample": p.subsample,
        "subsample_freq": 1,
        "colsample_bytree": p.colsample_bytree,
        "random_state": seed,
        "verbose": -1,
    }


def fit_one_lightgbm(p: LightGBMParams, device: str, seed: int, data: Prepared) -> lightgbm.LGBMRegressor:
    device_type = "gpu" if device == "cuda" else "cpu"
    booster = lightgbm.LGBMRegressor(**lightgbm_settings(p, seed), device_type=device_type)
    stop_early = lightgbm.early_stopping(p.early_stopping_rounds, verbose=False)
    return booster.fit(data.X, data.y, eval_X=(data.X_val,), eval_y=(data.y_val,), callbacks=[stop_early])


def fit_mlp(p: MLPParams, device: str, seed: int, data: Prepared) -> TorchMLPRegressor:
    network = TorchMLPRegressor(
        hidden_layers=tuple(p.hidden_layers),
        dropout=p.dropout,
        batch_size=p.batch_size,
        epochs=p.epochs,
        learning_rate=p.learning_rate,
        weight_decay=p.weight_decay,
        lr_schedule=p.lr_schedule,
        early_stopping_patience=p.early_stopping_patience,
        compile=p.compile,
        device=device,
        random_state=seed,
    )
    return network.fit(data.X, data.y, eval_set=(data.X_val, data.y_val))


FIT: dict[str, Callable[..., RegressorMixin]] = {
    "linear": fit_linear,
    "random_forest": fit_random_forest,
    "xgboost": fit_xgboost,
    "lightgbm": fit_lightgbm,
    "mlp": fit_mlp,
}


def fit_model(name: str, params: Section, device: str, seed: int, data: Prepared) -> RegressorMixin:
    """Fit model family `name` on prepared features, stopping early on the validation rows where it can."""
    return FIT[name](params, device, seed, data)


def fit_pipeline(
    name: str,
    model_params: Section,
    features: FeatureParams,
    device: str,
    seed: int,
    data: TrainingData[pd.DataFrame],
    *,
    fit: FitModel = fit_model,
) -> tuple[Pipeline, np.ndarray]:
    """Fit preprocessing (its folds grouped by the data's blocks) then the regressor (by `fit`: fit_model,
    or the Dask engine's); return the raw-row pipeline and its out-of-fold train predictions."""
    prepare = preprocessing(features.neighbours, features.similar, features.folds, seed)
    X_prepared = prepare.fit_transform(data.X, data.y, features__groups=data.blocks)
    X_val_prepared = prepare.transform(data.X_val)
    wrapper = TARGET_REGRESSORS.get(features.target_transform)
    to_fit = wrapper.forward if wrapper else np.asarray
    prepared = TrainingData(X_prepared, to_fit(data.y), X_val_prepared, to_fit(data.y_val))
    regressor = fit(name, model_params, device, seed, prepared)
    if wrapper:
        regressor = wrapper(regressor)
    pipeline = Pipeline([*prepare.steps, ("model", regressor)])
    return pipeline, regressor.predict(X_prepared)
