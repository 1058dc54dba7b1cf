"""The drift stage: each batch against the rows before it, as JSON figures and an HTML report."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from stages.ingest import with_block_ids
from tests.support.project import PROJECT, call_stage
from tests.support.synthetic import drifted_frame, housing_frame

RAW = Path("data/raw/housing.csv")


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
    with_block_ids(pd.concat([source, stable, shifted], ignore_index=True)).to_csv(work / RAW, index=False)
    return work


def drift(work: Path) -> subprocess.CompletedProcess:
    args = ("--raw", str(RAW), "--incoming", "data/incoming", "--figures", "reports/drift.json")
    return call_stage(work, "drift", *args, "--report", "reports/drift.html")


def test_the_stage_measures_each_batch_against_the_rows_before_it(ingested: Path) -> None:
    result = drift(ingested)
    assert result.returncode == 0, result.stderr
    figures = json.loads((ingested / "reports/drift.json").read_text())
    assert list(figures) == ["2026-01-stable.csv", "2026-02-shifted.csv"]
    stable, shifted = figures.values()
    assert (stable["first_row"], stable["rows"], stable["drifted"]) == (3000, 600, [])
    assert (shifted["first_row"], shifted["rows"]) == (3600, 500)
    assert "median_income" in shifted["drifted"]
    assert "plot" not in shifted["features"]["median_income"]
    report = (ingested / "reports/drift.html").read_text()
    assert "2026-02-shifted.csv: 500 rows" in report and report.count("data:image/png;base64,") == 2


def test_no_batches_give_empty_figures_and_a_report_that_says_so(ingested: Path) -> None:
    for batch in (ingested / "data/incoming").glob("*.csv"):
        batch.unlink()
    assert drift(ingested).returncode == 0
    assert json.loads((ingested / "reports/drift.json").read_text()) == {}
    assert "Nothing to compare" in (ingested / "reports/drift.html").read_text()


def test_raw_data_that_cannot_hold_the_batches_fails_with_one_line_and_writes_nothing(ingested: Path) -> None:
    with_block_ids(housing_frame(100)).to_csv(ingested / RAW, index=False)
    result = drift(ingested)
    assert result.returncode == 1
    assert result.stderr.startswith("error: the raw data holds 100 rows") and result.stderr.count("\n") == 1
    assert not (ingested / "reports").exists()
