"""params.yaml sections: typed on success, a StageError naming the param otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stages.errors import StageError
from stages.params import SECTIONS, Device, IngestParams, Section, XGBoostParams, load_params
from tests.support.project import PROJECT

PROJECT_PARAMS = PROJECT / "params.yaml"


def project_params() -> dict:
    return yaml.safe_load(PROJECT_PARAMS.read_text())


def params_file(tmp_path: Path, params: dict) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def with_xgboost(tmp_path: Path, **changes: object) -> Path:
    params = project_params()
    params["train"]["xgboost"].update(changes)
    return params_file(tmp_path, params)


def load_error(section: str, path: Path) -> str:
    with pytest.raises(StageError) as caught:
        load_params(section, SECTIONS.get(section, Section), params_file=path)
    return str(caught.value)


def test_xgboost_section_of_project_params_is_typed():
    xgboost = load_params("train.xgboost", XGBoostParams, params_file=PROJECT_PARAMS)

    assert isinstance(xgboost, XGBoostParams)
    assert xgboost.max_depth == project_params()["train"]["xgboost"]["max_depth"]
    assert isinstance(xgboost.learning_rate, float)


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_every_section_of_project_params_is_valid(section):
    assert load_params(section, SECTIONS[section], params_file=PROJECT_PARAMS) is not None


def test_scalar_sections_load_as_plain_values():
    assert load_params("seed", int, params_file=PROJECT_PARAMS) == project_params()["seed"]
    assert load_params("device", Device, params_file=PROJECT_PARAMS) == project_params()["device"]


def test_null_sha256_is_allowed(tmp_path):
    params = project_params()
    params["ingest"]["sha256"] = None

    ingest = load_params("ingest", IngestParams, params_file=params_file(tmp_path, params))

    assert isinstance(ingest, IngestParams)
    assert ingest.sha256 is None


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("max_depth", "abc"),
        ("max_depth", 0),
        ("max_depth", 2.5),
        ("learning_rate", -1),
        ("learning_rate", 0),
        ("subsample", 1.5),
        ("n_estimators", None),
    ],
)
def test_bad_value_names_the_param_and_the_value(tmp_path, param, value):
    path = with_xgboost(tmp_path, **{param: value})

    message = load_error("train.xgboost", path)

    assert message.startswith(f"{path}: train.xgboost.{param}: ")
    assert f"(got {value!r})" in message


def test_every_bad_value_is_reported(tmp_path):
    message = load_error("train.xgboost", with_xgboost(tmp_path, max_depth="abc", learning_rate=-1))

    assert "train.xgboost.max_depth" in message
    assert "train.xgboost.learning_rate" in message


def test_unknown_key_is_rejected(tmp_path):
    message = load_error("train.xgboost", with_xgboost(tmp_path, max_dpeth=6))

    assert "train.xgboost.max_dpeth: Extra inputs are not permitted" in message


def test_missing_key_is_rejected(tmp_path):
    params = project_params()
    del params["train"]["xgboost"]["subsample"]

    message = load_error("train.xgboost", params_file(tmp_path, params))

    assert "train.xgboost.subsample: Field required" in message


@pytest.mark.parametrize(
    ("section", "remove"),
    [
        ("train.xgboost", ("train", "xgboost")),
        ("train.xgboost", ("train",)),
        ("preprocess", ("preprocess",)),
        ("seed", ("seed",)),
    ],
)
def test_missing_section_is_a_stage_error(tmp_path, section, remove):
    params = project_params()
    *parents, last = remove
    container = params
    for key in parents:
        container = container[key]
    del container[last]

    message = load_error(section, params_file(tmp_path, params))

    assert f"missing params section '{section}'" in message


def test_naming_another_model_than_the_sections_is_a_type_error():
    """A mistake in the code, not in params.yaml: the caller's type checker would believe the wrong type."""
    with pytest.raises(TypeError, match="params section 'features' is a"):
        load_params("features", XGBoostParams, params_file=PROJECT_PARAMS)


def test_unknown_section_name_is_a_stage_error():
    assert "unknown params section 'train.catboost'" in load_error("train.catboost", PROJECT_PARAMS)


def test_bad_list_item_is_named_by_position(tmp_path):
    params = project_params()
    params["features"]["neighbours"] = [5, -1]

    message = load_error("features", params_file(tmp_path, params))

    assert "features.neighbours.1: " in message
    assert "(got -1)" in message


def test_bad_enum_value_is_rejected(tmp_path):
    params = project_params()
    params["preprocess"]["on_invalid"] = "ignore"

    assert "preprocess.on_invalid: " in load_error("preprocess", params_file(tmp_path, params))
