"""Two samples of raw rows compared feature by feature: is the second one drawn from the first's world?

Per feature: the population stability index (PSI, over the reference's decile bins) and a two-sample
test, Kolmogorov-Smirnov for the numbers and chi-square for ocean_proximity. A feature drifts when
its PSI reaches `psi_threshold`, or when its test rejects at `p_value` with an effect (KS statistic,
Cramér's V) of at least `min_effect`: with thousands of rows a test alone flags differences too small
to matter (DriftThresholds; the pipeline sets them in params.yaml `drift`, the server in SERVE_DRIFT__*).

Comparisons start from a `profile` of the reference rows, small enough to travel inside every logged
model (HousingFeatures.reference_), so serving and the retrain decision measure served traffic against
a model's own training data without a copy of it.

scipy, not Evidently: the statistics are three scipy calls, and Evidently would add some thirty
packages (a web framework, nltk, statsmodels, plotly) to the serving image, which needs them too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats

from housing.schema import NUMERIC_COLUMNS, OCEAN_CLASSES

Profile = dict[str, Any]
"""A reference sample's shape: per number, decile edges, the share of rows between them and a random
sample for the KS test; per category, the row counts; and where the rows lie, as the distinct
LOCATION_GRID-degree cells they occupy (the outline of California a dashboard draws under served
traffic). Plain dicts and arrays, so skops can store it."""

PROFILE_BINS = 10
PROFILE_SAMPLE = 2000
LOCATION_GRID = 0.1
PSI_FLOOR = 1e-4
"""Empty bins count as this share, so one empty bin cannot make the PSI infinite."""


class DriftThresholds(BaseModel):
    """When a feature counts as drifted. The defaults are what params.yaml ships with (a test keeps them
    equal), so the server judges served traffic as the pipeline judges batches unless told otherwise."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    psi_threshold: float = Field(default=0.2, gt=0, description="A feature drifts at this PSI or above...")
    p_value: float = Field(default=0.01, gt=0, lt=1, description="...or when its two-sample test rejects at this level")
    min_effect: float = Field(
        default=0.1, ge=0, le=1, description="...with at least this effect (KS statistic, Cramér's V)."
    )
    min_rows: int = Field(default=50, gt=0, description="Samples with fewer rows are reported but never flagged.")


def profile(reference: pd.DataFrame, seed: int = 0) -> Profile:
    """Summarise reference rows (raw feature columns) for later comparisons."""
    rng = np.random.default_rng(seed)
    numeric = {}
    for name in NUMERIC_COLUMNS:
        values = reference[name].dropna().to_numpy(dtype=float)
        edges = np.unique(np.quantile(values, np.linspace(0, 1, PROFILE_BINS + 1)[1:-1]))
        sample = rng.choice(values, size=min(PROFILE_SAMPLE, len(values)), replace=False)
        numeric[name] = {"edges": edges, "shares": _shares(values, edges), "sample": np.sort(sample)}
    counts = reference["ocean_proximity"].value_counts()
    categorical = {"ocean_proximity": [int(counts.get(category, 0)) for category in OCEAN_CLASSES]}
    return {"rows": len(reference), "numeric": numeric, "categorical": categorical, "locations": locations(reference)}


def locations(rows: pd.DataFrame) -> np.ndarray:
    """The distinct (longitude, latitude) cells of LOCATION_GRID degrees the rows fall in, as cell centres."""
    cells = np.floor(rows[["longitude", "latitude"]].to_numpy(dtype=float) / LOCATION_GRID)
    return (np.unique(cells, axis=0) + 0.5) * LOCATION_GRID


def compare(reference: Profile, current: pd.DataFrame, thresholds: DriftThresholds) -> dict[str, Any]:
    """Per-feature drift of `current` rows (raw feature columns) from the reference profile."""
    features = {
        name: _numeric_drift(summary, current[name].dropna().to_numpy(dtype=float), thresholds)
        for name, summary in reference["numeric"].items()
    }
    features["ocean_proximity"] = _category_drift(
        np.asarray(reference["categorical"]["ocean_proximity"]), current["ocean_proximity"], thresholds
    )
    drifted = [name for name, result in features.items() if result["drifted"]]
    return {"rows": len(current), "drifted_count": len(drifted), "drifted": drifted, "features": features}


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two distributions over the same bins (shares summing to 1)."""
    expected, actual = np.maximum(expected, PSI_FLOOR), np.maximum(actual, PSI_FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def _shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of `values` in each bin between `edges` (plus the two open-ended bins)."""
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    return _as_shares(counts)


def _as_shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else np.zeros(len(counts))


def _numeric_drift(reference: dict[str, np.ndarray], values: np.ndarray, thresholds: DriftThresholds) -> dict[str, Any]:
    shares = _shares(values, reference["edges"])
    statistic, p_value = stats.ks_2samp(reference["sample"], values) if len(values) else (None, None)
    labels = [f"≤{edge:.3g}" for edge in reference["edges"]] + ["more"]
    return {
        **_judge("ks", psi(reference["shares"], shares), statistic, p_value, len(values), thresholds),
        "plot": _bars(labels, reference["shares"], shares),
    }


def _category_drift(reference: np.ndarray, column: pd.Series, thresholds: DriftThresholds) -> dict[str, Any]:
    observed = column.value_counts()
    counts = np.array([observed.get(category, 0) for category in OCEAN_CLASSES])
    shares, expected = _as_shares(counts), _as_shares(reference)
    effect, p_value = _chi2(reference, counts)
    return {
        **_judge("chi2", psi(expected, shares), effect, p_value, int(counts.sum()), thresholds),
        "plot": _bars(list(OCEAN_CLASSES), expected, shares),
    }


def _bars(labels: list[str], reference: np.ndarray, current: np.ndarray) -> dict[str, list]:
    return {"labels": labels, "reference": reference.round(4).tolist(), "current": current.round(4).tolist()}


def _chi2(reference: np.ndarray, current: np.ndarray) -> tuple[float | None, float | None]:
    """Cramér's V and the p-value of a chi-square test that both samples share one distribution."""
    table = np.vstack([reference, current])
    table = table[:, table.sum(axis=0) > 0]
    if current.sum() == 0 or table.shape[1] < 2:
        return None, None
    chi2, p_value, _, _ = stats.chi2_contingency(table)
    return float(np.sqrt(chi2 / table.sum())), float(p_value)


def _judge(
    test: str,
    psi_value: float,
    effect: float | None,
    p_value: float | None,
    rows: int,
    thresholds: DriftThresholds,
) -> dict[str, Any]:
    """One feature's figures, and whether they count as drift (never on fewer than min_rows rows)."""
    rejects = (
        p_value is not None and effect is not None and p_value < thresholds.p_value and effect >= thresholds.min_effect
    )
    return {
        "test": test,
        "rows": rows,
        "psi": round(psi_value, 4),
        "effect": None if effect is None else round(float(effect), 4),
        "p_value": None if p_value is None else float(f"{p_value:.4g}"),
        "drifted": bool(rows >= thresholds.min_rows and (psi_value >= thresholds.psi_threshold or rejects)),
    }
