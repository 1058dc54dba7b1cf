"""The retrain command end to end: real batches, a real prediction log, real `dvc repro` and registry."""

from __future__ import annotations

import fcntl
import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from housing.schema import RAW_COLUMNS, records
from serve.prediction_log import PredictionLog
from serve.retrain_lock import LOCK, STATUS
from tests.conftest import copy_repo, eventually, logged_runs
from tests.dvc_repo import MODEL_NAME, sh, stages_run
from tests.serve.conftest import ADMIN_TOKEN, start_app
from tests.synthetic import drifted_frame, housing_frame

pytestmark = pytest.mark.slow


@pytest.fixture
def repo(trained_repo: Path, tmp_path: Path) -> Path:
    """A private copy of the repository whose pipeline has run once, for one test to change."""
    return copy_repo(trained_repo, tmp_path)


def add_batch(repo: Path, name: str, frame: pd.DataFrame) -> None:
    frame.to_csv(repo / "data" / "incoming" / name, index=False)


def retrain(repo: Path, *args: str, check: bool = True, env: dict[str, str] | None = None) -> str:
    return sh(repo, "python", "-m", "ops.retrain", *args, check=check, env=env)


def status(repo: Path) -> dict:
    return json.loads((repo / STATUS).read_text())


def versions(repo: Path) -> list[int]:
    client = mlflow.MlflowClient(f"sqlite:///{repo / 'mlflow.db'}")
    return sorted(int(version.version) for version in client.search_model_versions(f"name='{MODEL_NAME}'"))


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


def test_served_traffic_drift_and_live_error_are_reasons_to_retrain(repo: Path, tmp_path: Path) -> None:
    """Predictions logged as the API logs them: inland, richer rows, and feedback far from the answers."""
    log_file = tmp_path / "predictions.db"
    log = PredictionLog(log_file, retention_days=30)
    inputs = [json.dumps(row) for row in records(drifted_frame(400)[RAW_COLUMNS])]
    log.record("req-1", MODEL_NAME, 1, inputs, [200_000.0] * len(inputs), 1.0, role="champion")
    log.close()
    for row in range(30):
        log.record_feedback("req-1", row, 300_000.0)

    output = retrain(repo, "--dry-run", env={"SERVE_PREDICTION_DB": str(log_file)})

    decision = status(repo)
    assert decision["retrain"] is True and decision["dry_run"] is True and "outcome" not in decision
    assert any(reason.startswith("served traffic drifted in ") for reason in decision["reasons"])
    assert "live RMSE $100,000 over 30 reports" in decision["reasons"]
    assert decision["evidence"]["served_rows"] == 400
    assert "retrain: retraining:" in output and not stages_run(output) - {"ingest", "drift"}
    assert "Served traffic" in (repo / "reports/retrain/served_drift.html").read_text()
    assert versions(repo) == [1]


def test_a_second_retrain_refuses_while_one_runs(repo: Path) -> None:
    lock = repo / LOCK
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        output = retrain(repo, check=False)
    assert "error: another retrain is running" in output
    assert not (repo / STATUS).exists()


def test_the_api_starts_a_retrain_in_the_background_and_never_two_at_once(repo: Path, tmp_path: Path) -> None:
    """The API serves this repository's champion; its traffic drifts; POST /admin/retrain starts ops.retrain."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with start_app(tmp_path / "app", f"sqlite:///{repo / 'mlflow.db'}", pipeline_dir=repo) as app:
        rows = records(drifted_frame(400)[RAW_COLUMNS])
        app.logged(app.post("/predict", json=rows).get_json()["request_id"], rows=len(rows))

        started = app.post("/admin/retrain", json={"dry_run": True}, headers=admin)
        assert started.status_code == 202, started.text
        assert started.get_json()["running"] is True
        again = app.post("/admin/retrain", headers=admin)
        assert again.status_code == 409 and again.get_json()["error"] == "a retrain is already running"

        def finished() -> dict:
            status = app.get("/admin/retrain", headers=admin).get_json()
            return status if not status["running"] and status["last"]["state"] != "running" else {}

        last = eventually(finished, timeout=180)["last"]
    assert last["state"] == "finished" and last["dry_run"] is True and last["retrain"] is True
    assert any(reason.startswith("served traffic drifted in ") for reason in last["reasons"])
    assert last["evidence"]["served_rows"] == 400
    assert versions(repo) == [1]
