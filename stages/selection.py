"""The selection rule evaluate and register share: validation chooses, the test split only reports."""

from __future__ import annotations


def best_on_validation(scores: dict[str, dict[str, float]]) -> str:
    """The candidate with the lowest validation RMSE, from evaluate's scores by candidate."""
    return min(scores, key=lambda candidate: scores[candidate]["val_rmse"])
