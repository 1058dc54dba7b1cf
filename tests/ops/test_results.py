"""results: the compact table `make repro` ends with, from the files the stages wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ops.results import table
from stages.errors import StageError
from stages.params import CANDIDATES


def write(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload))


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    for number, family in enumerate(CANDIDATES):
        rmse = 0.5 - number / 100
        scores = {
            "val_rmse": rmse,
            "val_mae": 0.3,
            "val_r2": 0.8,
            "test_rmse": rmse + 0.01,
            "test_mae": 0.31,
            "test_r2": 0.79,
        }
        write(tmp_path / "metrics" / f"{family}.json", scores)
        write(tmp_path / "reports" / "train" / f"{family}.json", {"fit_seconds": 1.25 * number})
    receipt = {
        "model_name": "california-housing",
        "version": 3,
        "model_family": "mlp",
        "promoted": True,
        "alias": "champion",
        "comparison": {"promote": True, "summary": "no champion yet"},
    }
    write(tmp_path / "reports" / "registered.json", receipt)
    intervals = {
        family: {"difference": 0.01, "low": -0.002, "high": 0.02, "noise": True}
        for family in CANDIDATES
        if family != "mlp"
    }
    intervals["linear"] = {"difference": 0.04, "low": 0.03, "high": 0.05, "noise": False}
    write(tmp_path / "reports" / "intervals.json", {"selected": "mlp", "resamples": 100, "test_rmse": intervals})
    return tmp_path


def test_one_row_per_candidate_with_the_registered_one_marked_and_the_noise_flagged(outputs: Path) -> None:
    lines = table(outputs / "metrics", outputs / "reports").splitlines()

    assert lines[0].split()[:9] == ["candidate", "val", "RMSE", "val", "MAE", "val", "R²", "test", "RMSE"]
    assert lines[0].split()[-7:] == ["fit", "s", "test", "RMSE", "vs", "*", "(95%)"]
    rows = {line.split()[0]: line.split() for line in lines[1 : 1 + len(CANDIDATES)]}
    assert list(rows) == list(CANDIDATES)
    assert rows["linear"][1:] == [
        "0.5000",
        "0.3000",
        "0.8000",
        "0.5100",
        "0.3100",
        "0.7900",
        "0.0",
        "+0.0400",
        "[+0.0300,",
        "+0.0500]",
    ]
    assert rows["xgboost"][-1] == "noise"
    assert rows["mlp"][1] == "*" and rows["mlp"][-1] == "5.0", "the selected one has no difference to itself"
    assert lines[-3] == "* best validation RMSE: registered as california-housing v3, promoted to champion"
    assert lines[-2] == "  (no champion yet)"
    assert max(map(len, lines)) <= 120


def test_before_the_pipeline_ran_it_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(StageError, match="run `make repro` first"):
        table(tmp_path / "metrics", tmp_path / "reports")
