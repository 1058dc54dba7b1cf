"""WeightedAverage: the weighted sum of its members, settable through the pipeline, its importances weighted."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from housing.ensemble import WeightedAverage, equal_weights
from housing.target import SqrtTargetRegressor, feature_importance

RNG = np.random.default_rng(0)
X = RNG.uniform(1, 2, size=(200, 3))
y = X @ [3.0, 1.0, 0.0] + RNG.normal(0, 0.1, 200)


@pytest.fixture(scope="module")
def members() -> list[tuple[str, object]]:
    forest = RandomForestRegressor(n_estimators=5, random_state=0, n_jobs=2).fit(X, y)
    return [("forest", forest), ("ridge", Ridge().fit(X, y))]


def test_it_predicts_the_weighted_sum_of_its_members(members):
    average = WeightedAverage(members, [0.25, 0.75])

    expected = 0.25 * members[0][1].predict(X) + 0.75 * members[1][1].predict(X)
    np.testing.assert_allclose(average.predict(X), expected, rtol=1e-12)
    assert average.named_weights() == {"forest": 0.25, "ridge": 0.75}


def test_set_params_through_a_pipeline_reaches_every_member(members):
    pipeline = Pipeline([("scale", StandardScaler().fit(X)), ("model", equal_weights(members))])
    n_jobs = [name for name in pipeline.get_params(deep=True) if name.endswith("n_jobs")]

    pipeline.set_params(**dict.fromkeys(n_jobs, 1))

    assert "model__forest__n_jobs" in n_jobs
    assert members[0][1].n_jobs == 1


def test_fit_fits_every_member_on_the_same_rows():
    average = equal_weights([("a", Ridge(alpha=1.0)), ("b", Ridge(alpha=2.0))]).fit(X, y)

    assert all(hasattr(member, "coef_") for _, member in average.members)


def test_importances_are_the_members_weighted_over_those_that_have_them(members):
    pipeline = Pipeline([("scale", StandardScaler().set_output(transform="pandas").fit(_frame())), ("model", None)])
    forest, ridge = members[0][1], members[1][1]
    pipeline.steps[-1] = (
        "model",
        WeightedAverage([("forest", SqrtTargetRegressor(forest)), ("ridge", ridge)], [0.4, 0.6]),
    )

    importance = feature_importance(pipeline)

    coef = np.abs(ridge.coef_) / np.abs(ridge.coef_).sum()
    expected = 0.4 * forest.feature_importances_ / forest.feature_importances_.sum() + 0.6 * coef
    np.testing.assert_allclose(importance[["a", "b", "c"]].to_numpy(), expected)
    assert importance.sum() == pytest.approx(1.0)


def _frame():
    import pandas as pd

    return pd.DataFrame(X, columns=["a", "b", "c"])
