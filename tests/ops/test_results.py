"""results: the compact table `make repro` ends with, from the files the stages wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ops.results import table
from stages.errors import StageError
from stages.params import MODEL_PARAMS


def write(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload))


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    for number, family in enumerate(MODEL_PARAMS):
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
    }
    write(tmp_path / "reports" / "registered.json", receipt)
    return tmp_path


def test_one_row_per_family_with_the_registered_one_marked(outputs: Path) -> None:
    lines = table(outputs / "metrics", outputs / "reports").splitlines()

    assert lines[0].split() == [
        "family",
        "val",
        "RMSE",
        "val",
        "MAE",
        "val",
        "R²",
        "test",
        "RMSE",
        "test",
        "MAE",
        "test",
        "R²",
        "fit",
        "s",
    ]
    rows = {line.split()[0]: line.split() for line in lines[1 : 1 + len(MODEL_PARAMS)]}
    assert list(rows) == list(MODEL_PARAMS)
    assert rows["linear"][1:] == ["0.5000", "0.3000", "0.8000", "0.5100", "0.3100", "0.7900", "0.0"]
    assert rows["mlp"][1] == "*" and rows["mlp"][-1] == "5.0"
    assert lines[-1] == "* best validation RMSE: registered as california-housing v3, promoted to champion"
    assert max(map(len, lines)) <= 100


def test_before_the_pipeline_ran_it_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(StageError, match="run `make repro` first"):
        table(tmp_path / "metrics", tmp_path / "reports")
