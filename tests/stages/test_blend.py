"""blend: weights from out-of-fold predictions, chosen on validation, served as one raw-row pipeline.

The blend model is the one the shared repository's `dvc repro` made (trained_repo); the weight
fitting and the feature check are tested on their own.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from housing.ensemble import WeightedAverage
from housing.schema import RAW_COLUMNS, TARGET, TARGET_SCALE
from stages.blend import MIN_WEIGHT, candidate_weights, least_squares_weights, shared_features
from stages.errors import StageError
from stages.families import fit_pipeline
from stages.params import BlendParams, LinearParams, load_params
from stages.splits import TrainingData
from tests.support.params import tiny_features
from tests.support.synthetic import housing_frame

RNG = np.random.default_rng(3)
Y = RNG.uniform(1, 5, 3000)


def member_predictions(**noise: float) -> pd.DataFrame:
    return pd.DataFrame({name: Y + RNG.normal(0, scale, len(Y)) for name, scale in noise.items()})


def test_least_squares_weights_are_non_negative_sum_to_one_and_favour_the_better_member():
    weights = least_squares_weights(member_predictions(sharp=0.2, blurred=0.4, useless=3.0), Y)

    assert sum(weights.values()) == pytest.approx(1.0)
    assert all(weight >= 0 for weight in weights.values())
    assert weights["sharp"] > weights["blurred"] > 0
    assert weights["useless"] == 0, f"a member below {MIN_WEIGHT} is left out"


def test_equally_good_independent_members_get_equal_weights():
    weights = least_squares_weights(member_predictions(a=0.3, b=0.3), Y)

    assert weights["a"] == pytest.approx(0.5, abs=0.03)


def test_the_candidates_are_least_squares_and_the_means_of_the_best_members():
    predicted = member_predictions(best=0.2, second=0.3, third=0.5)

    candidates = candidate_weights(predicted, Y)

    assert list(candidates) == ["least squares", "mean of best 2", "mean of best 3"]
    assert candidates["mean of best 2"] == {"best": 0.5, "second": 0.5, "third": 0.0}


def test_members_fitted_on_different_features_cannot_share_one_feature_step():
    frame = housing_frame(120, seed=4)
    X, y = frame[RAW_COLUMNS], frame[TARGET].to_numpy() / TARGET_SCALE
    training = TrainingData(X, y, X, y)
    members = {
        f"seed {seed}": fit_pipeline("linear", LinearParams(alpha=1.0), tiny_features(), "cpu", seed, training)[0]
        for seed in (0, 1)
    }

    with pytest.raises(StageError, match="fitted on different features"):
        shared_features(members, X)
    assert shared_features({"one": members["seed 0"]}, X) is not None


@pytest.mark.slow
def test_the_blend_is_its_members_weighted_behind_one_feature_step(trained_repo: Path):
    blend = mlflow.pyfunc.load_model(str(trained_repo / "models" / "blend"))
    report = json.loads((trained_repo / "reports" / "train" / "blend.json").read_text())
    raw = housing_frame(6, seed=8)[RAW_COLUMNS]
    raw.loc[0, "total_bedrooms"] = np.nan

    weights = report["weights"]
    members = {family: mlflow.pyfunc.load_model(str(trained_repo / "models" / family)) for family in weights}
    expected = sum(weight * np.asarray(members[family].predict(raw)).ravel() for family, weight in weights.items())
    np.testing.assert_allclose(np.asarray(blend.predict(raw)).ravel(), expected, rtol=1e-9)

    pipeline = blend.get_raw_model()
    assert isinstance(pipeline[-1], WeightedAverage) and len(pipeline) == 3, "features, scale, the average"
    assert pipeline[-1].named_weights() == {family: weight for family, weight in weights.items() if weight > 0}
    assert blend.metadata.get_input_schema().input_names() == RAW_COLUMNS
    assert set(weights) == set(load_params("blend", BlendParams, trained_repo / "params.yaml").members)
    assert sum(weights.values()) == pytest.approx(1.0) and min(weights.values()) >= 0


@pytest.mark.slow
def test_validation_chooses_among_the_candidates_and_the_weights_are_recorded(trained_repo: Path):
    report = json.loads((trained_repo / "reports" / "train" / "blend.json").read_text())
    scores = json.loads((trained_repo / "metrics" / "blend.json").read_text())

    candidates = report["candidates"]
    assert report["chosen"] == min(candidates, key=lambda name: candidates[name]["val_rmse"])
    assert report["weights"] == candidates[report["chosen"]]["weights"]
    assert {key: value for key, value in scores.items() if key.startswith("weight_")} == {
        f"weight_{family}": pytest.approx(weight) for family, weight in report["weights"].items() if weight > 0
    }
    assert set(report["out_of_fold_rmse"]) == set(report["weights"])
    client = mlflow.MlflowClient(f"sqlite:///{trained_repo / 'mlflow.db'}")
    run = client.search_runs(
        client.get_experiment_by_name("california-housing").experiment_id, "tags.model_family='blend'"
    )[0]
    assert run.data.params["blend.chosen"] == report["chosen"]
    assert {name for name in run.data.metrics if name.startswith("weight_")} == {
        f"weight_{f}" for f in report["weights"]
    }
