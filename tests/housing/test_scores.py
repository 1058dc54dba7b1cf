"""The paired bootstrap of test RMSE differences: centred on the observed difference, zero for twins."""

from __future__ import annotations

import numpy as np

from housing.scores import rmse_difference_intervals

RNG = np.random.default_rng(1)
ACTUAL = RNG.uniform(1, 5, 2000)
GOOD = ACTUAL + RNG.normal(0, 0.3, 2000)


def intervals(predicted: dict[str, np.ndarray]) -> dict[str, dict]:
    return rmse_difference_intervals(ACTUAL, predicted, "good", resamples=500, seed=0)


def test_a_clearly_worse_candidate_has_an_interval_above_zero_around_its_difference():
    worse = ACTUAL + RNG.normal(0, 0.5, 2000)

    found = intervals({"good": GOOD, "worse": worse})["worse"]

    assert 0 < found["low"] < found["difference"] < found["high"]
    assert not found["noise"]
    assert set(intervals({"good": GOOD, "worse": worse})) == {"worse"}


def test_a_candidate_that_differs_by_noise_has_an_interval_around_zero():
    nearly = GOOD + RNG.normal(0, 0.003, 2000)

    found = intervals({"good": GOOD, "nearly": nearly})["nearly"]

    assert found["low"] < 0 < found["high"]
    assert found["noise"]


def test_resampling_is_paired_so_identical_predictions_differ_by_exactly_zero():
    found = intervals({"good": GOOD, "twin": GOOD.copy()})["twin"]

    assert found == {"difference": 0.0, "low": 0.0, "high": 0.0, "noise": True}


def test_the_intervals_are_reproducible_for_a_seed():
    worse = ACTUAL + 0.1

    assert intervals({"good": GOOD, "worse": worse}) == intervals({"good": GOOD, "worse": worse})
