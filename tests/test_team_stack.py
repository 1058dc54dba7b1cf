"""The team stack for real, on one machine: an MLflow tracking server on PostgreSQL 15 with its artifacts
in S3 (moto_server); the pipeline's register stage registers the champion into it, and the API serves
that champion from it, its golden set and fast path included."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.dvc_repo import copy_repo, sh
from tests.support.servers import S3_CREDENTIALS, Postgres, mlflow_server, s3_server
from tests.support.serving import RECORD, start_app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory: pytest.TempPathFactory, postgres: Postgres) -> Iterator[str]:
    postgres.create_database("mlflow")
    s3_env = {**S3_CREDENTIALS}
    log = tmp_path_factory.mktemp("team-stack") / "mlflow.log"
    with s3_server("mlflow-artifacts") as s3:
        s3_env["MLFLOW_S3_ENDPOINT_URL"] = s3
        with mlflow_server(postgres.url("mlflow", "psycopg2"), "s3://mlflow-artifacts", log, s3_env) as url:
            yield url


def test_the_pipeline_registers_into_the_team_stack_and_the_api_serves_from_it(
    trained_repo: Path, tmp_path: Path, tracking_server: str
):
    repo = copy_repo(trained_repo, tmp_path)

    output = sh(
        repo, "dvc", "repro", "--force", "--single-item", "register", env={"MLFLOW_TRACKING_URI": tracking_server}
    )

    assert "promoted to champion" in output, output
    with start_app(tmp_path / "app", tracking_server) as app:
        ready = app.get("/ready").get_json()
        info = app.get("/model/info").get_json()
        answer = app.post("/predict", json=RECORD)
    assert ready["ready"] is True, ready
    assert info["source"].startswith("models:/") or info["source"].startswith("mlflow-artifacts:")
    assert info["prediction_path"]["serving"] == "fast" and info["prediction_path"]["check"]["exact"] is True
    assert answer.status_code == 200 and answer.get_json()["model"]["version"] == 1
