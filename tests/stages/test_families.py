"""The per-family builders: every family is fitted on the transformed price and predicts in price units."""

import numpy as np
import pytest

from housing.schema import RAW_COLUMNS, TARGET, TARGET_SCALE
from stages.families import fit_pipeline
from stages.params import LinearParams
from stages.splits import TrainingData
from tests.support.params import tiny_features
from tests.support.synthetic import housing_frame

# A ridge penalty this large leaves only the intercept: the mean of the target it was fitted on.
CONSTANT = LinearParams(alpha=1e12)
MEAN_IN_PRICE_SPACE = {
    "none": lambda y: y.mean(),
    "sqrt": lambda y: np.sqrt(y).mean() ** 2,
    "log": lambda y: np.exp(np.log(y).mean()),
}


@pytest.mark.parametrize("transform", MEAN_IN_PRICE_SPACE)
def test_the_model_is_fitted_on_the_transformed_target_and_predicts_price(transform: str) -> None:
    frame = housing_frame(200, seed=5)
    X, y = frame[RAW_COLUMNS], frame[TARGET].to_numpy() / TARGET_SCALE
    features = tiny_features(target_transform=transform)

    pipeline, _ = fit_pipeline("linear", CONSTANT, features, "cpu", 0, TrainingData(X, y, X, y))

    np.testing.assert_allclose(pipeline.predict(X.head(5)), MEAN_IN_PRICE_SPACE[transform](y), rtol=1e-6)
