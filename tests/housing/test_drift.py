"""The drift statistics: PSI, the two-sample tests, the thresholds and the profile models carry."""

from __future__ import annotations

import numpy as np

from housing.drift import LOCATION_GRID, DriftThresholds, compare, profile, psi
from housing.schema import NUMERIC_COLUMNS, RAW_COLUMNS
from tests.support.synthetic import drifted_frame, housing_frame

PARAMS = DriftThresholds()


def test_psi_is_zero_for_equal_distributions_and_grows_with_the_shift() -> None:
    even = np.full(10, 0.1)
    assert psi(even, even) == 0
    shifted = np.array([0.0] * 5 + [0.2] * 5)
    assert psi(even, shifted) > 0.5 > psi(even, np.array([0.08, 0.12] * 5)) > 0


def test_a_sample_of_the_same_world_does_not_drift() -> None:
    result = compare(profile(housing_frame(3000, seed=0)), housing_frame(800, seed=5), PARAMS)
    assert result["drifted"] == [], result["features"]
    assert result["rows"] == 800
    assert set(result["features"]) == set(RAW_COLUMNS)


def test_a_shifted_batch_drifts_in_the_features_that_moved() -> None:
    result = compare(profile(housing_frame(3000, seed=0)), drifted_frame(800), PARAMS)
    assert {"median_income", "housing_median_age", "population", "ocean_proximity"} <= set(result["drifted"])
    assert {"longitude", "latitude"}.isdisjoint(result["drifted"])
    assert result["drifted_count"] == len(result["drifted"])
    ocean = result["features"]["ocean_proximity"]
    assert ocean["test"] == "chi2" and ocean["p_value"] < PARAMS.p_value and ocean["effect"] > 0.5


def test_small_samples_are_measured_but_never_flagged() -> None:
    result = compare(profile(housing_frame(3000)), drifted_frame(PARAMS.min_rows - 1), PARAMS)
    assert result["drifted"] == []
    assert result["features"]["median_income"]["psi"] > PARAMS.psi_threshold


def test_missing_values_are_left_out_of_the_comparison() -> None:
    batch = housing_frame(300, seed=2)
    batch.loc[:99, "total_bedrooms"] = np.nan
    result = compare(profile(housing_frame(3000)), batch, PARAMS)
    assert result["features"]["total_bedrooms"]["rows"] == batch["total_bedrooms"].notna().sum() <= 200
    assert "total_bedrooms" not in result["drifted"]


def test_the_profile_holds_only_plain_containers_of_numbers() -> None:
    """It is stored inside every model (HousingFeatures.reference_) with skops: no custom types."""
    summary = profile(housing_frame(500))
    assert set(summary["numeric"]) == set(NUMERIC_COLUMNS)
    assert all(type(part) is np.ndarray for numbers in summary["numeric"].values() for part in numbers.values())
    assert sum(summary["categorical"]["ocean_proximity"]) == 500


def test_the_profile_locates_every_training_row_in_one_of_its_cells() -> None:
    rows = housing_frame(500)
    cells = profile(rows)["locations"]
    assert type(cells) is np.ndarray and cells.shape[1] == 2 and len(np.unique(cells, axis=0)) == len(cells)
    nearest = np.abs(rows[["longitude", "latitude"]].to_numpy()[:, None, :] - cells[None, :, :]).max(axis=2).min(axis=1)
    assert (nearest <= LOCATION_GRID / 2 + 1e-9).all(), "each row lies within half a cell of a cell centre"
