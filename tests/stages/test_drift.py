"""Drift: the statistics of stages.distribution and the drift stage's metrics and report."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stages.distribution import compare, profile, psi
from stages.params import DriftParams, load_params
from stages.schema import FEATURES, NUMERIC_FEATURES
from tests.conftest import PROJECT, run_stage
from tests.synthetic import drifted_frame, housing_frame

PARAMS: DriftParams = load_params("drift", PROJECT / "params.yaml")
RAW = Path("data/raw/housing.csv")


def test_psi_is_zero_for_equal_distributions_and_grows_with_the_shift() -> None:
    even = np.full(10, 0.1)
    assert psi(even, even) == 0
    shifted = np.array([0.0] * 5 + [0.2] * 5)
    assert psi(even, shifted) > 0.5 > psi(even, np.array([0.08, 0.12] * 5)) > 0


def test_a_sample_of_the_same_world_does_not_drift() -> None:
    result = compare(profile(housing_frame(3000, seed=0)), housing_frame(800, seed=5), PARAMS)
    assert result["drifted"] == [], result["features"]
    assert result["rows"] == 800
    assert set(result["features"]) == set(FEATURES)


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
    assert set(summary["numeric"]) == set(NUMERIC_FEATURES)
    assert all(type(part) is np.ndarray for numbers in summary["numeric"].values() for part in numbers.values())
    assert sum(summary["categorical"]["ocean_proximity"]) == 500


@pytest.fixture
def ingested(tmp_path: Path) -> Path:
    """A project folder as after ingest: a stable and a drifted batch appended, in file-name order."""
    work = tmp_path / "work"
    (work / "data" / "incoming").mkdir(parents=True)
    (work / RAW.parent).mkdir(parents=True)
    (work / "params.yaml").write_text((PROJECT / "params.yaml").read_text())
    source, stable, shifted = housing_frame(3000), housing_frame(600, seed=7), drifted_frame(500)
    stable.to_csv(work / "data/incoming/2026-01-stable.csv", index=False)
    shifted.to_csv(work / "data/incoming/2026-02-shifted.csv", index=False)
    pd.concat([source, stable, shifted]).to_csv(work / RAW, index=False)
    return work


def drift(work: Path) -> subprocess.CompletedProcess:
    args = ("--raw", str(RAW), "--incoming", "data/incoming", "--metrics", "metrics/drift.json")
    return run_stage(work, "drift", *args, "--report", "reports/drift.html")


def test_the_stage_measures_each_batch_against_the_rows_before_it(ingested: Path) -> None:
    result = drift(ingested)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((ingested / "metrics/drift.json").read_text())
    assert list(metrics) == ["2026-01-stable.csv", "2026-02-shifted.csv"]
    stable, shifted = metrics.values()
    assert (stable["first_row"], stable["rows"], stable["drifted"]) == (3000, 600, [])
    assert (shifted["first_row"], shifted["rows"]) == (3600, 500)
    assert "median_income" in shifted["drifted"]
    assert "plot" not in shifted["features"]["median_income"]
    report = (ingested / "reports/drift.html").read_text()
    assert "2026-02-shifted.csv: 500 rows" in report and report.count("data:image/png;base64,") == 2


def test_no_batches_give_empty_metrics_and_a_report_that_says_so(ingested: Path) -> None:
    for batch in (ingested / "data/incoming").glob("*.csv"):
        batch.unlink()
    assert drift(ingested).returncode == 0
    assert json.loads((ingested / "metrics/drift.json").read_text()) == {}
    assert "Nothing to compare" in (ingested / "reports/drift.html").read_text()


def test_raw_data_that_cannot_hold_the_batches_fails_with_one_line_and_writes_nothing(ingested: Path) -> None:
    housing_frame(100).to_csv(ingested / RAW, index=False)
    result = drift(ingested)
    assert result.returncode == 1
    assert result.stderr.startswith("error: the raw data holds 100 rows") and result.stderr.count("\n") == 1
    assert not (ingested / "metrics").exists() and not (ingested / "reports").exists()
