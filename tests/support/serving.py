"""The server two ways, both on a tiny model registered in a temporary SQLite MLflow store: in process
(start_app: serve.service's real parts, driven by Flask's test client) for the API's logic, and as a
real gunicorn server on 127.0.0.1 (start_server) for what needs processes."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from serve.service import Service, build_service
from serve.settings import Settings
from tests.support.processes import answers, eventually, free_port, start_process, stop_process
from tests.support.project import PROJECT, in_forked_child
from tests.support.tiny_model import Golden, register_tiny_model
from tests.support.tracking import MODEL_NAME, fresh_store

ADMIN_TOKEN = "test-token"
RECORD = {
    "longitude": -122.23,
    "latitude": 37.88,
    "housing_median_age": 41,
    "total_rooms": 880,
    "total_bedrooms": 129,
    "population": 322,
    "households": 126,
    "median_income": 8.3252,
    "ocean_proximity": "NEAR BAY",
}


def register_version(
    store_uri: str, alias: str | None = "champion", seed: int = 1, failing: bool = False, golden: Golden = "shipped"
) -> int:
    """Register a new version of the tiny model in `store_uri` and return its number.

    `seed` fits it on another generated sample; `failing` registers a model that raises at predict time;
    `golden` says what golden set ships with it. A forked child does it, so the MLflow settings it
    makes die with it.
    """
    return in_forked_child(register_tiny_model, store_uri, MODEL_NAME, alias, seed, failing, golden)


def tiny_champion_store(directory: Path, migrated_store: Path) -> str:
    """A store in `directory` where the tiny model is registered as version 1 with the `champion` alias."""
    uri = fresh_store(directory, migrated_store)
    register_version(uri)
    return uri


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    prediction_db: Path
    log_path: Path

    def stop(self) -> None:
        """Shut gunicorn down cleanly: its workers finish their requests and run atexit."""
        stop_process(self.process)

    def logs(self) -> str:
        return self.log_path.read_text()


def start_server(workdir: Path, store_uri: str, port: int | None = None, **settings: str) -> Server:
    """Start `gunicorn -c serve/gunicorn.conf.py serve.wsgi:app` as `make serve` does, and wait for /health.

    On `port` (a free one by default): a server started where another stopped is the same address to a client.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    metrics_dir = workdir / "prometheus"
    metrics_dir.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT),
        "MLFLOW_TRACKING_URI": store_uri,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "SERVE_PREDICTION_DB": str(workdir / "predictions.db"),
        "SERVE_ADMIN_TOKEN": ADMIN_TOKEN,
        "SERVE_POLL_SECONDS": "1",
        "SERVE_RETRY_SECONDS": "1",
        "SERVE_PIPELINE_DIR": str(workdir),  # no dvc.yaml: POST /admin/retrain never runs this checkout's pipeline
        **settings,
    }
    url, log_path = f"http://127.0.0.1:{port}", workdir / "server.log"
    command = [sys.executable, "-m", "gunicorn", "-c", PROJECT / "serve" / "gunicorn.conf.py", "serve.wsgi:app"]
    process = start_process(command, log_path, lambda: answers(f"{url}/health"), 90, env, cwd=PROJECT)
    return Server(url, process, workdir / "predictions.db", log_path)


def ready_server(workdir: Path, store_uri: str, port: int | None = None, **settings: str) -> Server:
    """start_server, then wait until /ready says a model is loaded (stopping the server if it never is)."""
    server = start_server(workdir, store_uri, port, **settings)
    if not eventually(lambda: answers(f"{server.url}/ready", timeout=5)):
        server.stop()
        raise AssertionError(server.logs())
    return server


@dataclass
class App:
    """The real service in this process: the app with its watchers, prediction log and drift, no threads."""

    service: Service
    client: FlaskClient

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Write what the prediction log has queued and stop its writer."""
        self.service.predictions.close()

    def post(self, path: str, **kwargs) -> TestResponse:
        """POST, then close the response, which runs what the app left for after it (a shadow's prediction)."""
        response = self.client.post(path, **kwargs)
        response.close()
        return response

    def get(self, path: str, **kwargs) -> TestResponse:
        return self.client.get(path, **kwargs)

    def logged(self, request_id: str, rows: int) -> list[dict]:
        """The prediction log's rows for a request, in record order, once all `rows` are written."""

        def read() -> list[dict]:
            page = self.get("/predictions?limit=1000").get_json()["predictions"]
            found = sorted((row for row in page if row["request_id"] == request_id), key=lambda row: row["row"])
            return found if len(found) == rows else []

        found = eventually(read, timeout=10)
        assert found, f"{request_id}: expected {rows} logged rows"
        return found


def start_app(workdir: Path, store_uri: str, **settings: object) -> App:
    """The service as a worker builds it, from these settings (SERVE_* names, lower case), loaded once."""
    workdir.mkdir(parents=True, exist_ok=True)
    defaults = {"prediction_db": workdir / "predictions.db", "admin_token": ADMIN_TOKEN, "pipeline_dir": workdir}
    service = build_service(Settings(**{**defaults, **settings}), store_uri)
    service.load()
    return App(service, service.app.test_client())
