"""The retrain command's evidence from served traffic: drift of the logged inputs, the champion's live
error, a champion this code cannot load; and POST /admin/retrain starting it. Each test works in a
copy of a repository whose pipeline has run once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from housing.schema import RAW_COLUMNS, records
from serve.prediction_log import PredictionLog
from tests.support.dvc_repo import retrain, stages_run, status, versions
from tests.support.processes import eventually
from tests.support.serving import ADMIN_TOKEN, start_app
from tests.support.synthetic import drifted_frame
from tests.support.tracking import MODEL_NAME
from tests.support.unloadable_model import register_unloadable_champion

pytestmark = pytest.mark.slow


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


def test_the_api_starts_a_retrain_in_the_background_and_never_two_at_once(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API serves this repository's champion; its traffic drifts; POST /admin/retrain starts ops.retrain,
    which inherits the server's environment: its MLFLOW_TRACKING_URI names the same store."""
    store = f"sqlite:///{repo / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with start_app(tmp_path / "app", store, pipeline_dir=repo) as app:
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


def test_a_champion_this_code_cannot_load_is_a_reason_to_retrain(repo: Path, tmp_path: Path) -> None:
    """Its feature step's class is not in this code: it can be neither served nor measured."""
    version = register_unloadable_champion(f"sqlite:///{repo / 'mlflow.db'}", MODEL_NAME, tmp_path)

    output = retrain(repo, "--dry-run")

    decision = status(repo)
    assert decision["retrain"] is True and decision["evidence"]["champion"] == version
    (reason,) = decision["reasons"]
    assert f"{MODEL_NAME} v{version} was trained by an incompatible version of housing-mlops" in reason
    assert "retrain: retraining:" in output
