"""Regression scores, always in units of $100,000 (the target scale every report uses)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error


def regression_scores(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    return {
        "rmse": round(float(root_mean_squared_error(actual, predicted)), 5),
        "mae": round(float(mean_absolute_error(actual, predicted)), 5),
        "r2": round(float(r2_score(actual, predicted)), 5),
    }
