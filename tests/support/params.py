"""The tiny params, the one set the tests fit with: params.yaml with TINY_PARAMS merged in, so a fit on a
few hundred generated rows takes a second and every other value is the shipped one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from stages.params import FeatureParams, Section, load_family_params
from tests.support.project import PROJECT

TINY_PARAMS: dict[str, Any] = {
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
"""What the tests change in params.yaml: fewer and smaller neighbour features, trees, epochs and rows."""


def deep_update(base: dict, changes: dict) -> dict:
    """`base` with `changes` merged in, section by section (in place; returned for chaining)."""
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


def tiny_features(**overrides: object) -> FeatureParams:
    """The shipped `features` section with TINY_PARAMS's, and `overrides`, in it."""
    shipped = yaml.safe_load((PROJECT / "params.yaml").read_text())["features"]
    return FeatureParams.model_validate({**shipped, **TINY_PARAMS["features"], **overrides})


def tiny_family(family: str, **overrides: object) -> Section:
    """A family's shipped params with TINY_PARAMS's, and `overrides`, in them."""
    params = load_family_params(family, PROJECT / "params.yaml")
    return params.model_copy(update={**TINY_PARAMS["train"].get(family, {}), **overrides})
