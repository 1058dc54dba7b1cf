"""Named sets of param overrides, the one definition behind `make gpu-preset` and bench/gpu.

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
}


def dvc_flags(name: str) -> str:
    """The preset as `dvc exp run` set-param flags (values in YAML/JSON syntax)."""
    return " ".join(f"-S {key}={json.dumps(value, separators=(',', ':'))}" for key, value in PRESETS[name].items())


def section_overrides(name: str, section: str) -> dict[str, Any]:
    """The preset's values inside one params section, e.g. ("gpu", "train.xgboost") -> {"max_depth": 12, ...}."""
    prefix = f"{section}."
    return {key.removeprefix(prefix): value for key, value in PRESETS[name].items() if key.startswith(prefix)}


if __name__ == "__main__":
    print(dvc_flags(sys.argv[1]))
