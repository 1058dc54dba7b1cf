"""evaluate logs what it scored into each candidate's training run: a store that cannot be reached fails
the stage before it scores anything, and a training run the store lacks is named and left out while
the others get the new evaluation.

The runs are those of the shared repository whose `dvc repro` ran the pipeline (trained_repo); each
test reruns evaluate in its own copy. That the figures logged are the pipeline's own, read back by the
dashboard's endpoint, is tests/serve/test_dashboard_runs.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest

from serve.dashboard.registry import Registry
from stages.params import CANDIDATES
from tests.support.processes import free_port
from tests.support.project import run_stage
from tests.support.tracking import MODEL_NAME

pytestmark = pytest.mark.slow

EVALUATE = (
    "--models",
    "models",
    "--splits",
    "data/processed",
    "--scores",
    "metrics",
    "--plots",
    "plots",
    "--intervals",
    "reports/intervals.json",
    "--golden",
    "golden",
)
"""dvc.yaml's arguments of the evaluate stage."""
MLFLOW_UI = "http://mlflow.example:5000"


def store_of(repo: Path) -> str:
    return f"sqlite:///{repo / 'mlflow.db'}"


def training_run_id(repo: Path, candidate: str) -> str:
    run_id: str = mlflow.models.Model.load(str(repo / "models" / candidate / "MLmodel")).run_id
    return run_id


def test_a_store_that_cannot_be_reached_fails_the_stage_before_it_scores_anything(repo: Path):
    scores_before = {path.name: path.read_text() for path in (repo / "metrics").iterdir()}
    unreachable = {"MLFLOW_TRACKING_URI": f"http://127.0.0.1:{free_port()}", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}

    result = run_stage(repo, "evaluate", *EVALUATE, env=unreachable)

    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: the MLflow tracking store cannot be read: ")
    assert "Traceback" not in result.stderr
    assert "evaluate linear" not in result.stdout, "nothing was scored"
    assert {path.name: path.read_text() for path in (repo / "metrics").iterdir()} == scores_before


def test_a_training_run_the_store_lacks_is_named_and_the_others_get_the_new_evaluation(repo: Path):
    before = Registry(store_of(repo), MODEL_NAME).pipeline_run(MLFLOW_UI)
    gone = training_run_id(repo, "blend")
    mlflow.MlflowClient(store_of(repo)).delete_run(gone)

    result = run_stage(repo, "evaluate", *EVALUATE)

    assert result.returncode == 0, result.stderr
    assert (
        f"evaluate blend: its training run {gone} is not in the tracking store; nothing logged to it" in result.stdout
    )
    after = Registry(store_of(repo), MODEL_NAME).pipeline_run(MLFLOW_UI)
    logged = ", ".join(name for name in CANDIDATES if name != "blend")
    assert f"evaluate: logged to the training runs of {logged} (evaluation {after.evaluation_id})" in result.stdout
    assert after.problem is None and after.evaluation_id != before.evaluation_id
    assert after.evaluated_at is not None and before.evaluated_at is not None
    assert after.evaluated_at > before.evaluated_at
    assert after.missing == ["blend"]
    assert [row.candidate for row in after.candidates] == [name for name in CANDIDATES if name != "blend"]
    assert after.selected == json.loads((repo / "reports" / "intervals.json").read_text())["selected"]
    assert {row.run_id for row in after.candidates} == {training_run_id(repo, name) for name in CANDIDATES} - {gone}
