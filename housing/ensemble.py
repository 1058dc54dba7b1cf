"""Fitted regressors averaged with fixed weights: one family bagged over seeds, or the families blended.

The members arrive fitted (each by its own family's builder, on the same features) and this only
averages their predictions. Its params expose the members' own under the member's name
(`lightgbm__regressor__n_jobs`), as scikit-learn's composite estimators do, so `set_params` on the
whole pipeline reaches every member.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin


class WeightedAverage(RegressorMixin, BaseEstimator):
    """sum(weight * member.predict(X)) over named, already fitted members; weights >= 0 that sum to one."""

    def __init__(self, members: list[tuple[str, RegressorMixin]], weights: list[float]):
        self.members = members
        self.weights = weights

    def fit(self, X: np.ndarray, y: np.ndarray, **fit_params: object) -> WeightedAverage:
        """Fit every member on the same rows (the pipeline's members usually arrive fitted instead)."""
        for _, member in self.members:
            member.fit(X, y, **fit_params)
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def predict(self, X: np.ndarray) -> np.ndarray:
        predicted = [weight * member.predict(X) for (_, member), weight in zip(self.members, self.weights, strict=True)]
        return np.sum(predicted, axis=0)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        params = super().get_params(deep=False)
        if deep:
            for name, member in self.members:
                params[name] = member
                params.update({f"{name}__{key}": value for key, value in member.get_params(deep=True).items()})
        return params

    def named_weights(self) -> dict[str, float]:
        return {name: weight for (name, _), weight in zip(self.members, self.weights, strict=True)}


def equal_weights(members: list[tuple[str, RegressorMixin]]) -> WeightedAverage:
    return WeightedAverage(members, [1 / len(members)] * len(members))
