"""ops/presets.py: every preset names real params and valid values; apply writes them into params."""

from __future__ import annotations

import copy

import pytest
import yaml
from pydantic import TypeAdapter

from ops import presets
from stages.params import SECTIONS
from tests.support.project import PROJECT

SHIPPED = yaml.safe_load((PROJECT / "params.yaml").read_text())


def section_of(params: dict, dotted: str):
    for key in dotted.split("."):
        params = params[key]
    return params


@pytest.mark.parametrize("name", sorted(presets.PRESETS))
def test_preset_applied_to_the_shipped_params_validates_every_section(name):
    params = presets.apply(name, copy.deepcopy(SHIPPED))

    for key, value in presets.PRESETS[name].items():
        assert section_of(params, key) == value
    for section, model in SECTIONS.items():
        TypeAdapter(model).validate_python(section_of(params, section))


def test_demo_preset_lightens_training_and_leaves_the_rest():
    params = presets.apply("demo", copy.deepcopy(SHIPPED))

    assert params["train"]["xgboost"]["n_estimators"] < SHIPPED["train"]["xgboost"]["n_estimators"]
    assert params["train"]["mlp"]["epochs"] < SHIPPED["train"]["mlp"]["epochs"]
    assert params["train"]["random_forest"]["n_estimators"] < SHIPPED["train"]["random_forest"]["n_estimators"]
    assert params["ingest"] == SHIPPED["ingest"] and params["retrain"] == SHIPPED["retrain"]


def test_apply_refuses_a_key_params_yaml_lacks(monkeypatch):
    monkeypatch.setitem(presets.PRESETS, "typo", {"train.xgboost.n_estimator": 10})

    with pytest.raises(KeyError, match=r"train\.xgboost\.n_estimator is not a param"):
        presets.apply("typo", copy.deepcopy(SHIPPED))
