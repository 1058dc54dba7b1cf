"""Named sets of param overrides, the one definition behind `make gpu-preset`, bench/gpu, `make demo` and
the retrain command's `--preset` (RETRAIN_PRESETS); and the check of overrides against params.yaml.

python -m ops.presets gpu     # prints the `dvc exp run -S ...` flags
"""

from __future__ import annotations

import json
import sys
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from stages.params import SECTIONS

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


RETRAIN_PRESETS: dict[str, dict[str, Any]] = {"default": {}, "quick": PRESETS["demo"], "gpu": PRESETS["gpu"]}
"""What the retrain command (`--preset`) and the dashboard's Retrain page offer: params.yaml as it stands,
the demo's light training under the name a user looks for, and the GPU preset."""


class InvalidParams(ValueError):
    """Overrides that params.yaml lacks or that its section models refuse: the problem with each, by param name."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(f"{name}: {problem}" for name, problem in problems.items()))
        self.problems = problems


def set_flags(values: dict[str, Any]) -> list[str]:
    """`dvc exp run` set-param arguments for `values` (each value in JSON, which DVC reads as YAML)."""
    settings = [f"{key}={json.dumps(value, separators=(',', ':'))}" for key, value in values.items()]
    return [part for setting in settings for part in ("-S", setting)]


def dvc_flags(name: str) -> str:
    """The preset as `dvc exp run` set-param flags, for a shell (no value holds a space)."""
    return " ".join(set_flags(PRESETS[name]))


def section_overrides(name: str, section: str) -> dict[str, Any]:
    """The preset's values inside one params section, e.g. ("gpu", "train.xgboost") -> {"max_depth": 12, ...}."""
    prefix = f"{section}."
    return {key.removeprefix(prefix): value for key, value in PRESETS[name].items() if key.startswith(prefix)}


def apply(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """params.yaml's content (parsed) with the preset written in, e.g. for a scratch clone's params.yaml."""
    for key, value in PRESETS[name].items():
        if not write(params, key, value):
            raise KeyError(f"preset {name!r}: {key} is not a param")
    return params


def write(params: dict[str, Any], key: str, value: Any) -> bool:
    """Set the dotted `key` of params.yaml's content to `value`; False, changing nothing, when it has no such key."""
    *sections, leaf = key.split(".")
    section: Any = params
    for part in sections:
        section = section.get(part) if isinstance(section, dict) else None
    if not isinstance(section, dict) or leaf not in section:
        return False
    section[leaf] = value
    return True


def parse_setting(text: str) -> tuple[str, Any]:
    """`key=value` as `dvc exp run -S` reads it: a dotted param name, and its value in YAML syntax."""
    key, equals, value = text.partition("=")
    if not equals or not key.strip():
        raise InvalidParams({text: "expected key=value, e.g. train.mlp.epochs=50"})
    try:
        return key.strip(), yaml.safe_load(value)
    except yaml.YAMLError as error:
        raise InvalidParams({key.strip(): f"{value!r} is not a YAML value ({error})"}) from None


def section_of(key: str) -> str | None:
    """The params section (stages.params.SECTIONS) that holds `key`: train.mlp for train.mlp.epochs, seed for seed."""
    return next((section for section in SECTIONS if key == section or key.startswith(f"{section}.")), None)


def checked(values: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """params.yaml's content (parsed) with `values` written in, every section they touch validated by the model
    its stage loads it with, before anything runs. InvalidParams names each param that params.yaml lacks
    or that its model refuses, as `dvc exp run -S` followed by the stage would, minus the wait."""
    problems = {key: "not a param of params.yaml" for key, value in values.items() if not write(params, key, value)}
    problems |= {key: "not inside a params section" for key in values if key not in problems and not section_of(key)}
    touched = {section_of(key) for key in values if key not in problems}
    for section in sorted(name for name in touched if name):
        content: Any = params
        for part in section.split("."):
            content = content[part]
        try:
            TypeAdapter(SECTIONS[section]).validate_python(content)
        except ValidationError as error:
            for detail in error.errors():
                name = ".".join([section, *(str(part) for part in detail["loc"])])
                problems[name] = f"{detail['msg']} (got {detail['input']!r})"
    if problems:
        raise InvalidParams(problems)
    return params


if __name__ == "__main__":
    print(dvc_flags(sys.argv[1]))
