"""Named sets of param overrides, the one definition behind `make gpu-preset`, bench/gpu and `make demo`.

python -m ops.presets gpu     # prints the `dvc exp run -S ...` flags
"""

from __future__ import annotations

import json
import sys
from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    "gpu": {
        "device": "cuda",
        "train.xgboost.n_estimators": 5000,
        "train.xgboost.max_depth": 12,
        "train.xgboost.learning_rate": 0.01,
        "train.xgboost.subsample": 0.8,
        "train.xgboost.colsample_bytree": 0.8,
        "train.mlp.hidden_layers": [512, 256, 128, 64],
        "train.mlp.batch_size": 2048,
        "train.mlp.epochs": 500,
        "train.mlp.compile": True,
    },
    # `make demo` (demo/tour.sh) trains twice within its five minutes on two cores: fewer, faster
    # boosting rounds, a smaller forest and MLP, a two-fold blend of the boosters alone (refitting the
    # MLP for the blend's folds cost more than the rest of it) and fewer bootstrap resamples.
    "demo": {
        "train.random_forest.n_estimators": 30,
        "train.random_forest.max_depth": 12,
        "train.xgboost.n_estimators": 400,
        "train.xgboost.learning_rate": 0.1,
        "train.xgboost.early_stopping_rounds": 30,
        "train.lightgbm.n_estimators": 400,
        "train.lightgbm.learning_rate": 0.08,
        "train.lightgbm.early_stopping_rounds": 30,
        "train.mlp.hidden_layers": [128, 64],
        "train.mlp.epochs": 20,
        "train.mlp.early_stopping_patience": 5,
        "blend.members": ["xgboost", "lightgbm"],
        "blend.folds": 2,
        "evaluate.bootstrap_resamples": 200,
    },
}


def dvc_flags(name: str) -> str:
    """The preset as `dvc exp run` set-param flags (values in YAML/JSON syntax)."""
    return " ".join(f"-S {key}={json.dumps(value, separators=(',', ':'))}" for key, value in PRESETS[name].items())


def section_overrides(name: str, section: str) -> dict[str, Any]:
    """The preset's values inside one params section, e.g. ("gpu", "train.xgboost") -> {"max_depth": 12, ...}."""
    prefix = f"{section}."
    return {key.removeprefix(prefix): value for key, value in PRESETS[name].items() if key.startswith(prefix)}


def apply(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """params.yaml's content (parsed) with the preset written in, e.g. for a scratch clone's params.yaml."""
    for key, value in PRESETS[name].items():
        *sections, leaf = key.split(".")
        section = params
        for part in sections:
            section = section[part]
        if leaf not in section:
            raise KeyError(f"preset {name!r}: {key} is not a param")
        section[leaf] = value
    return params


if __name__ == "__main__":
    print(dvc_flags(sys.argv[1]))
