"""The target wrappers: fitted on sqrt or log of the price, predicting the price; and unwrapping them."""

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline

from housing.features import preprocessing
from housing.schema import RAW_COLUMNS, TARGET, TARGET_SCALE
from housing.target import LogTargetRegressor, SqrtTargetRegressor, feature_importance, final_estimator
from tests.support.synthetic import housing_frame

# A ridge penalty this large leaves only the intercept: the mean of the target it was fitted on.
CONSTANT = 1e12
MEAN_IN_PRICE_SPACE = {
    SqrtTargetRegressor: lambda y: np.sqrt(y).mean() ** 2,
    LogTargetRegressor: lambda y: np.exp(np.log(y).mean()),
}


def prices() -> tuple[np.ndarray, np.ndarray]:
    frame = housing_frame(200, seed=5)
    return frame[["median_income"]].to_numpy(), frame[TARGET].to_numpy() / TARGET_SCALE


@pytest.mark.parametrize("wrapper", MEAN_IN_PRICE_SPACE, ids=lambda wrapper: wrapper.__name__)
def test_the_wrapped_model_fits_the_transformed_price_and_predicts_the_price(wrapper) -> None:
    X, y = prices()

    model = wrapper(Ridge(alpha=CONSTANT)).fit(X, y)

    np.testing.assert_allclose(model.predict(X[:5]), MEAN_IN_PRICE_SPACE[wrapper](y), rtol=1e-6)
    np.testing.assert_allclose(model.regressor.predict(X[:1]), wrapper.forward(y).mean(), rtol=1e-6)


def test_sqrt_never_predicts_a_negative_price() -> None:
    assert SqrtTargetRegressor.inverse(np.array([-0.5, 0.0, 2.0])).tolist() == [0.0, 0.0, 4.0]


def test_final_estimator_unwraps_the_target_wrapper_and_importance_names_the_features() -> None:
    frame = housing_frame(200, seed=1)
    X, y = frame[RAW_COLUMNS], frame[TARGET].to_numpy() / TARGET_SCALE
    prepare = preprocessing([3], [], folds=3, seed=0)
    ridge = Ridge().fit(prepare.fit_transform(X, y), np.sqrt(y))
    pipeline = Pipeline([*prepare.steps, ("model", SqrtTargetRegressor(ridge))])

    importance = feature_importance(pipeline)

    assert final_estimator(pipeline) is ridge
    assert set(importance.index) == set(prepare.get_feature_names_out())
    assert importance.sum() == pytest.approx(1) and importance.is_monotonic_decreasing
