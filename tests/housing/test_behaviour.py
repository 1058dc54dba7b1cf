"""Behaviour of trained models, whatever their family (in the style of Made With ML's behavioural
tests): expectations about how a price should respond to its inputs, not about its accuracy.

Each family is fitted for real, with small params, on generated data where the price rises with
income, through the pipeline's own builder, the same call the train stage makes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from housing.schema import RAW_COLUMNS, TARGET, TARGET_SCALE
from stages.params import MODEL_PARAMS
from tests.support.params import tiny_family, tiny_features
from tests.support.synthetic import housing_frame

SAME = {"rtol": 1e-6}
"""Equal to float32 rounding: the MLP computes in float32, where a batch sums in another order."""


@pytest.fixture(scope="module", params=list(MODEL_PARAMS))
def model(request: pytest.FixtureRequest) -> Pipeline:
    from stages.families import fit_pipeline
    from stages.splits import TrainingData

    family = request.param
    frame = housing_frame(1200, seed=3)
    X, y = frame[RAW_COLUMNS], frame[TARGET].to_numpy() / TARGET_SCALE
    pipeline, _ = fit_pipeline(
        family, tiny_family(family), tiny_features(), "cpu", 0, TrainingData(X[:1000], y[:1000], X[1000:], y[1000:])
    )
    return pipeline


@pytest.fixture(scope="module")
def blocks() -> pd.DataFrame:
    """Unseen blocks, with room for their income to rise."""
    frame = housing_frame(200, seed=11)[RAW_COLUMNS]
    return frame[frame["median_income"] < 12].reset_index(drop=True)


def test_a_higher_income_does_not_lower_the_price_on_average(model: Pipeline, blocks: pd.DataFrame) -> None:
    richer = blocks.assign(median_income=blocks["median_income"] + 2)

    assert (model.predict(richer) - model.predict(blocks)).mean() > 0


def test_the_order_of_a_batch_does_not_change_its_predictions(model: Pipeline, blocks: pd.DataFrame) -> None:
    shuffled = blocks.sample(frac=1, random_state=0)

    np.testing.assert_allclose(model.predict(shuffled), model.predict(blocks)[shuffled.index], **SAME)


def test_a_block_predicts_the_same_alone_as_in_a_batch(model: Pipeline, blocks: pd.DataFrame) -> None:
    alone = np.concatenate([model.predict(blocks.iloc[[row]]) for row in range(10)])

    np.testing.assert_allclose(alone, model.predict(blocks.head(10)), **SAME)


def test_a_missing_total_bedrooms_still_predicts_a_plausible_price(model: Pipeline, blocks: pd.DataFrame) -> None:
    without = blocks.assign(total_bedrooms=np.nan)

    predicted = model.predict(without)

    assert np.isfinite(predicted).all() and (predicted > 0).all()
    assert np.median(np.abs(predicted - model.predict(blocks))) < 0.5, "within $50,000 of the same block with it"
