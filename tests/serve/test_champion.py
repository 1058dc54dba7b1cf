"""The served pipeline: the logged model itself, made single-threaded without changing a prediction."""

import numpy as np
import pytest

from serve.champion import single_threaded
from stages.models import fit_pipeline
from stages.params import FeatureParams, LightGBMParams, RandomForestParams
from stages.schema import FEATURES, TARGET, TARGET_SCALE
from tests.synthetic import housing_frame

FAMILIES = {
    "lightgbm": LightGBMParams(
        n_estimators=30,
        learning_rate=0.1,
        num_leaves=7,
        min_child_samples=5,
        subsample=1.0,
        colsample_bytree=1.0,
        early_stopping_rounds=5,
    ),
    "random_forest": RandomForestParams(n_estimators=10, max_depth=5, min_samples_leaf=2, max_features=0.5),
}


@pytest.mark.parametrize("family", FAMILIES)
def test_single_threaded_sets_every_n_jobs_and_keeps_predictions(family: str) -> None:
    frame = housing_frame(300, seed=3)
    X, y = frame[FEATURES], frame[TARGET].to_numpy() / TARGET_SCALE
    features = FeatureParams(neighbours=[3], folds=3, target_transform="sqrt")
    pipeline, _ = fit_pipeline(family, FAMILIES[family], features, "cpu", 0, X, y, X, y)
    before = pipeline.predict(X)

    served = single_threaded(pipeline)

    n_jobs = {name: value for name, value in served.get_params(deep=True).items() if name.endswith("n_jobs")}
    assert n_jobs and set(n_jobs.values()) == {1}, n_jobs
    # A forest sums its trees' outputs in another order on one thread: equal to float rounding.
    np.testing.assert_allclose(served.predict(X), before, rtol=1e-12)
