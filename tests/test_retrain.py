"""The retrain command end to end on new batches: real `dvc repro` and registry, in a copy of a repository
whose pipeline has run once (tests/test_retrain_serving.py: the evidence from served traffic)."""

from __future__ import annotations

import fcntl
from pathlib import Path

import pandas as pd
import pytest

from serve.retrain_lock import LOCK, STATUS
from tests.support.dvc_repo import retrain, sh, stages_run, status, versions
from tests.support.synthetic import drifted_frame, housing_frame
from tests.support.tracking import MODEL_NAME, logged_runs

pytestmark = pytest.mark.slow


def add_batch(repo: Path, name: str, frame: pd.DataFrame) -> None:
    frame.to_csv(repo / "data" / "incoming" / name, index=False)


def test_a_stable_batch_is_ingested_and_measured_but_does_not_retrain(repo: Path) -> None:
    add_batch(repo, "2026-11-stable.csv", housing_frame(300, seed=11))
    output = retrain(repo)

    assert "retrain: no retraining: no threshold reached" in output
    assert stages_run(output) == {"ingest", "drift"}
    decision = status(repo)
    assert decision["state"] == "finished" and decision["retrain"] is False and decision["reasons"] == []
    assert decision["evidence"]["new_rows"] == 300
    assert decision["evidence"]["new_batch_drift"] == {"2026-11-stable.csv": []}
    assert versions(repo) == [1]


def test_a_drifted_batch_retrains_and_the_runs_say_why(repo: Path) -> None:
    add_batch(repo, "2026-11-shifted.csv", drifted_frame(300))
    output = retrain(repo)

    decision = status(repo)
    assert decision["retrain"] is True and decision["state"] == "finished"
    (reason,) = decision["reasons"]
    assert reason.startswith("batch 2026-11-shifted.csv drifted in ") and "median_income" in reason
    assert {"preprocess", "register"} <= stages_run(output)
    assert set(decision["stages"]["ran"]) == stages_run(output) - {"ingest", "drift"}, "the retrain's own repro"
    assert {"ingest", "drift"} <= set(decision["stages"]["skipped"])
    assert decision["outcome"]["version"] == 2 and versions(repo) == [1, 2]
    assert decision["outcome"]["alias"] in {"champion", "challenger"}

    runs = logged_runs(f"sqlite:///{repo / 'mlflow.db'}", MODEL_NAME)
    assert {run.data.tags.get("retrain.reason") for run in runs} == {None, reason}
    assert "up to date" in sh(repo, "dvc", "status")


def test_a_batch_missing_a_column_is_rejected_and_changes_nothing(repo: Path) -> None:
    raw_before = (repo / "data/raw/housing.csv").read_bytes()
    add_batch(repo, "2026-11-broken.csv", housing_frame(100, seed=3).drop(columns=["median_income"]))
    output = retrain(repo, check=False)

    assert "2026-11-broken.csv: wrong columns (missing ['median_income']" in output
    assert (repo / "data/raw/housing.csv").read_bytes() == raw_before
    decision = status(repo)
    assert decision["state"] == "failed" and "dvc repro drift" in decision["error"]
    assert versions(repo) == [1]


def test_a_second_retrain_refuses_while_one_runs(repo: Path) -> None:
    lock = repo / LOCK
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        output = retrain(repo, check=False)
    assert "error: another retrain is running" in output
    assert not (repo / STATUS).exists()
