"""Regression scores, always in units of $100,000 (the target scale every report uses)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error


def regression_scores(actual: ArrayLike, predicted: ArrayLike) -> dict[str, float]:
    return {
        "rmse": round(float(root_mean_squared_error(actual, predicted)), 5),
        "mae": round(float(mean_absolute_error(actual, predicted)), 5),
        "r2": round(float(r2_score(actual, predicted)), 5),
    }


def rmse_difference_intervals(
    actual: np.ndarray, predicted: dict[str, np.ndarray], reference: str, resamples: int, seed: int
) -> dict[str, dict[str, float]]:
    """Paired bootstrap of RMSE(candidate) - RMSE(reference), for every other candidate, in $100,000.

    Each resample draws the rows once, with replacement, and scores every candidate on the same rows,
    so the interval reflects how the candidates differ, not how hard the rows happen to be. A positive
    difference means the reference is better; an interval containing 0 is noise at this size.
    """
    return pooled_rmse_difference_intervals([(actual, predicted)], reference, resamples, seed)


def pooled_rmse_difference_intervals(
    samples: Sequence[tuple[np.ndarray, dict[str, np.ndarray]]], reference: str, resamples: int, seed: int
) -> dict[str, dict[str, float]]:
    """The paired bootstrap of rmse_difference_intervals over several independent test sets (say, one
    per split seed), each scored by the same candidates: the difference is the mean over the sets of
    each set's RMSE difference, and each resample draws every set's rows afresh."""
    names = list(samples[0][1])
    column = names.index(reference)
    rng = np.random.default_rng(seed)
    point_rmse = np.zeros(len(names))
    resampled_rmse = np.zeros((resamples, len(names)))
    for actual, predicted in samples:
        squared_errors = np.column_stack([(predicted[name] - actual) ** 2 for name in names])
        counts = rng.multinomial(len(actual), np.full(len(actual), 1 / len(actual)), resamples)
        resampled_rmse += np.sqrt(counts @ squared_errors / len(actual)) / len(samples)
        point_rmse += np.sqrt(squared_errors.mean(axis=0)) / len(samples)
    intervals = {}
    for index, name in enumerate(names):
        if name == reference:
            continue
        low, high = np.percentile(resampled_rmse[:, index] - resampled_rmse[:, column], [2.5, 97.5])
        intervals[name] = {
            "difference": round(float(point_rmse[index] - point_rmse[column]), 5),
            "low": round(float(low), 5),
            "high": round(float(high), 5),
            "noise": bool(low <= 0 <= high),
        }
    return intervals
