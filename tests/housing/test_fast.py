"""The fast path: bit-exact with the pipeline's predict for every family and a blend, on batches and on
single rows, with the golden set's edge rows; and refused, or caught by `prove`, where it is not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from housing.ensemble import WeightedAverage
from housing.fast import SMALL_BATCH, FastPath, NoFastPath, XGBoostTrees, columns_of, fast_path, prove, single_threaded
from housing.golden import PREDICTION, edge_rows, golden_rows
from housing.schema import RAW_COLUMNS, TARGET, TARGET_SCALE, HousingRow
from stages.families import fit_pipeline
from stages.params import MODEL_PARAMS
from stages.splits import TrainingData
from tests.support.params import tiny_family, tiny_features
from tests.support.synthetic import housing_frame

FAMILIES = {family: tiny_family(family) for family in MODEL_PARAMS}


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]:
    train, held_out = housing_frame(400, seed=5), housing_frame(60, seed=6)
    return (
        train[RAW_COLUMNS],
        train[TARGET].to_numpy() / TARGET_SCALE,
        held_out[RAW_COLUMNS],
        held_out[TARGET].to_numpy() / TARGET_SCALE,
    )


@pytest.fixture(scope="module")
def pipelines(data) -> dict[str, Pipeline]:
    training = TrainingData(*data)
    fitted = {
        family: single_threaded(fit_pipeline(family, params, tiny_features(), "cpu", 0, training)[0])
        for family, params in FAMILIES.items()
    }
    members = [(family, fitted[family][-1]) for family in ("xgboost", "lightgbm", "mlp")]
    fitted["blend"] = Pipeline([*fitted["xgboost"].steps[:-1], ("model", WeightedAverage(members, [0.5, 0.3, 0.2]))])
    return fitted


def golden_set(pipeline: Pipeline, held_out: pd.DataFrame) -> pd.DataFrame:
    rows = golden_rows(held_out)
    return rows.assign(**{PREDICTION: pipeline.predict(rows)})


@pytest.mark.parametrize("candidate", [*FAMILIES, "blend"])
def test_the_fast_path_is_bit_exact_for_every_family_and_the_blend(pipelines, data, candidate):
    pipeline = pipelines[candidate]
    rows = golden_rows(data[2])

    path = fast_path(pipeline)

    assert np.array_equal(path.predict(columns_of(rows)), pipeline.predict(rows))
    for size in (1, 2, SMALL_BATCH, SMALL_BATCH + 1):
        some = columns_of(rows.tail(size))
        assert np.array_equal(path.predict(some), pipeline.predict(some)), size
    proof = prove(path, pipeline, golden_set(pipeline, data[2]))
    assert proof.exact and proof.mismatches == 0, proof
    assert proof.rows == len(rows) and proof.single_rows == len(rows)


def test_the_blend_names_the_kernel_of_each_member(pipelines):
    kernels = fast_path(pipelines["blend"]).kernels

    assert list(kernels) == ["model.xgboost", "model.lightgbm", "model.mlp"]
    assert "numpy tree walk" in kernels["model.xgboost"] and "C API" in kernels["model.lightgbm"]


def test_the_numpy_tree_walk_matches_xgboost_and_leaves_missing_values_to_it(pipelines, data):
    pipeline = pipelines["xgboost"]
    regressor = pipeline[-1].regressor
    X = pipeline[:-1].transform(golden_rows(data[2]))
    trees = XGBoostTrees(regressor)

    for row in range(len(X)):
        assert np.array_equal(trees.predict(X[row : row + 1]), regressor.predict(X[row : row + 1])), row
    with_missing = X[:2].copy()
    with_missing[0, 0] = np.nan
    assert np.array_equal(trees.predict(with_missing), regressor.predict(with_missing))


def test_a_step_without_a_fast_path_is_named(pipelines):
    class Unknown:
        def predict(self, X):
            return np.zeros(len(X))

    pipeline = Pipeline([*pipelines["linear"].steps[:-1], ("model", Unknown())])

    with pytest.raises(NoFastPath, match="no fast path for Unknown at model"):
        fast_path(pipeline)
    with pytest.raises(NoFastPath, match="not \\[HousingFeatures, StandardScaler, model\\]"):
        fast_path(pipelines["linear"][-1])


def test_prove_counts_a_fast_path_one_ulp_off(pipelines, data):
    pipeline = pipelines["lightgbm"]
    exact = fast_path(pipeline)
    off = FastPath(exact.features, exact.scaler, lambda X: np.nextafter(exact.model(X), np.inf), exact.kernels)

    proof = prove(off, pipeline, golden_set(pipeline, data[2]))

    assert not proof.exact
    assert proof.mismatches == proof.rows + proof.single_rows
    assert proof.detail == f"{proof.mismatches} predictions differ from the pipeline's"


def test_prove_says_when_the_pipeline_does_not_reproduce_its_recorded_predictions(pipelines, data):
    pipeline = pipelines["linear"]
    golden = golden_set(pipeline, data[2])
    golden.loc[3, PREDICTION] += 1e-12

    proof = prove(fast_path(pipeline), pipeline, golden)

    assert not proof.exact
    assert proof.detail == "the pipeline's own predict differs from its evaluated predictions on 1 golden rows"


def test_edge_rows_are_valid_rows_at_every_bound_and_with_bedrooms_missing():
    rows = edge_rows()

    for record in rows.to_dict("records"):
        HousingRow(**{name: value for name, value in record.items() if not pd.isna(value)})
    for field in ("longitude", "total_rooms", "median_income"):
        low, high = HousingRow.model_fields[field].metadata[0].ge, HousingRow.model_fields[field].metadata[1].le
        assert {low, high} <= set(rows[field])
    assert rows["total_bedrooms"].isna().sum() == 5
