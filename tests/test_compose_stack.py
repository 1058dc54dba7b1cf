"""The team stack as shipped in deploy/compose.yaml, run by podman-compose with deploy/compose.offline.yaml
(PostgreSQL and Prometheus built from Debian's packages, moto's S3 server, no Grafana): the pipeline in
the train container registers a champion into the MLflow server on PostgreSQL with its artifacts in S3,
the API container serves it, Prometheus scrapes the API, and a prediction and its feedback land in the
PostgreSQL prediction log.

podman-compose 1.0.3 creates the containers (`up --no-start postgres s3 mlflow api prometheus`: naming
the services leaves Grafana and the train profile out, as it ignores profiles), then the test starts
them with `podman start` in the worst order, the API and MLflow first, to see each wait for what it
needs. The pipeline runs with `podman-compose run --rm -T --no-deps train` on a tiny generated
repository. The images pip builds are built with deploy/image.sh (the project's two by
the project_image fixture, shared with the other image tests, and moto's), PostgreSQL's and
Prometheus's through the compose files' `build:`; every port is a free one of this host.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import boto3
import mlflow
import pytest
import requests

from tests.support.containers import LIMITS, PODMAN, needs_podman, podman, wait_until_ready
from tests.support.dvc_repo import make_repo
from tests.support.processes import eventually, free_port
from tests.support.project import PROJECT
from tests.support.serving import RECORD
from tests.support.tracking import MODEL_NAME

pytestmark = [
    pytest.mark.slow,
    needs_podman,
    pytest.mark.skipif(shutil.which("podman-compose") is None, reason="needs podman-compose (make container-tools)"),
]

SERVICES = ("postgres", "s3", "mlflow", "api", "prometheus")
STAND_IN_BASE = "localhost/python:3.11-bookworm"


@dataclass
class Stack:
    project: str
    env: dict[str, str]
    ports: dict[str, int]

    def compose(self, *args: str, env: dict[str, str] | None = None, timeout: float = 600) -> str:
        """podman-compose with both files and this sandbox's podman flags; its output, asserting success."""
        runtime = [f"--podman-args={' '.join(PODMAN[1:])}"] if len(PODMAN) > 1 else []
        command = [
            "podman-compose",
            *runtime,
            f"--podman-run-args={' '.join(LIMITS)}",
            f"--podman-build-args={' '.join(LIMITS)}",
            "-p",
            self.project,
            "-f",
            str(PROJECT / "deploy" / "compose.yaml"),
            "-f",
            str(PROJECT / "deploy" / "compose.offline.yaml"),
            *args,
        ]
        done = subprocess.run(command, env={**self.env, **(env or {})}, capture_output=True, text=True, timeout=timeout)
        output = done.stdout + done.stderr
        assert done.returncode == 0, f"{' '.join(command)}:\n{output[-8000:]}"
        return output

    def container(self, service: str) -> str:
        return f"{self.project}_{service}_1"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self, *services: str) -> None:
        podman("start", *map(self.container, services))

    def logs(self, service: str) -> str:
        done = podman("logs", self.container(service), check=False)
        return done.stdout + done.stderr

    def logger(self, service: str) -> Callable[[], str]:
        return lambda: self.logs(service)

    def wait_for_log(self, service: str, line: str, timeout: float) -> str:
        """The service's log once it holds `line`."""
        return str(
            within(lambda: line in self.logs(service) and self.logs(service), line, timeout, self.logger(service))
        )

    def psql(self, query: str) -> str:
        done = podman("exec", self.container("postgres"), "psql", "-U", "mlflow", "-d", "predictions", "-tAc", query)
        return done.stdout.strip()


def within(check: Callable[[], object], what: str, timeout: float, logs: Callable[[], str] = str) -> object:
    """eventually(`check`), a request that fails counting as not yet; fails after `timeout` with `logs`."""

    def attempt() -> object:
        try:
            return check()
        except (requests.RequestException, OSError):
            return None

    result = eventually(attempt, timeout, interval=1)
    assert result, f"{what}: not in {timeout} s\n{logs()[-5000:]}"
    return result


def remove_project(project: str) -> None:
    """Everything podman-compose made for `project`, whatever state the test left it in."""
    label = f"label=io.podman.compose.project={project}"
    containers = podman("ps", "-a", "-q", "--filter", label).stdout.split()
    if containers:
        podman("rm", "-f", "-v", "-t", "0", *containers, check=False)
    for kind in ("volume", "network"):
        names = podman(kind, "ls", "-q", "--filter", label).stdout.split()
        if names:
            podman(kind, "rm", "-f", *names, check=False)


def debian_base() -> str:
    """The base the stand-ins start from: deploy/image.sh's stand-in where it made one (no registry)."""
    made = podman("image", "exists", STAND_IN_BASE, check=False).returncode == 0
    return STAND_IN_BASE if made else "python:3.11-slim-bookworm"


@pytest.fixture(scope="module")
def stack(project_image: Callable[[str], str]) -> Iterator[Stack]:
    """The stack's containers created, none started; removed at the end with their volumes, network and
    the stand-in images built for them."""
    run = uuid.uuid4().hex[:8]
    ports = {service: free_port() for service in ("s3", "mlflow", "api", "prometheus")}
    stand_ins = {name: f"localhost/housing-{name}:test-{run}" for name in ("s3", "postgres", "prometheus")}
    env = {
        **os.environ,
        "API_IMAGE": project_image("serve"),
        "PIPELINE_IMAGE": project_image("train"),
        "S3_IMAGE": stand_ins["s3"],
        "POSTGRES_IMAGE": stand_ins["postgres"],
        "PROMETHEUS_IMAGE": stand_ins["prometheus"],
        "PYTHON_IMAGE": debian_base(),
        "S3_PORT": str(ports["s3"]),
        "MINIO_CONSOLE_PORT": str(free_port()),
        "MLFLOW_PORT": str(ports["mlflow"]),
        "API_PORT": str(ports["api"]),
        "PROMETHEUS_PORT": str(ports["prometheus"]),
    }
    stack = Stack(f"housing-test-{run}", env, ports)
    try:
        built = subprocess.run(
            ["deploy/image.sh", "s3", stand_ins["s3"], "-f", "deploy/s3/Containerfile"],
            cwd=PROJECT,
            capture_output=True,
            text=True,
        )
        assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
        stack.compose("up", "--no-start", *SERVICES)
        yield stack
    finally:
        remove_project(stack.project)
        podman("rmi", *stand_ins.values(), check=False)
        podman("image", "prune", "-f", check=False)


@pytest.fixture(scope="module")
def started(stack: Stack) -> dict[str, object]:
    """The stack started in the worst order, and what the waiting services said and answered meanwhile:
    the API and MLflow first (both wait for PostgreSQL), then PostgreSQL (the API comes up while MLflow
    waits for S3), then S3 and Prometheus."""
    seen: dict[str, object] = {}
    stack.start("api", "mlflow")
    for service in ("api", "mlflow"):
        seen[f"{service} before postgres"] = stack.wait_for_log(service, "waiting for postgres:5432", 60)
    stack.start("postgres")
    seen["ready without mlflow"] = within(
        lambda: requests.get(f"{stack.url('api')}/ready", timeout=5).json(), "the API answers", 120, stack.logger("api")
    )
    seen["mlflow before s3"] = stack.wait_for_log("mlflow", "waiting for s3:9000", 60)
    stack.start("s3", "prometheus")
    within(
        lambda: requests.get(f"{stack.url('mlflow')}/health", timeout=5).ok,
        "MLflow's /health",
        180,
        stack.logger("mlflow"),
    )
    return seen


@pytest.fixture(scope="module")
def trained(stack: Stack, started: dict, tmp_path_factory: pytest.TempPathFactory) -> str:
    """`dvc repro` in the train container on a tiny generated repository: its output."""
    root = tmp_path_factory.mktemp("pipeline")
    repo = make_repo(root, {"ingest": {"source": "source.csv"}})
    shutil.copy(root / "source.csv", repo / "source.csv")
    return stack.compose("run", "--rm", "-T", "--no-deps", "train", env={"PIPELINE_DIR": str(repo)})


def test_services_started_before_what_they_need_wait_for_it_and_say_so(stack: Stack, started: dict) -> None:
    assert "waiting for postgres:5432" in started["api before postgres"]
    assert "waiting for postgres:5432" in started["mlflow before postgres"]
    assert "waiting for s3:9000" in started["mlflow before s3"]
    assert "bucket mlflow created" in stack.logs("mlflow")
    not_ready = started["ready without mlflow"]
    assert not_ready["ready"] is False and not_ready["problem"], not_ready


def test_the_pipeline_in_the_train_container_registers_a_champion_with_its_artifacts_in_s3(
    stack: Stack, trained: str
) -> None:
    assert "promoted to champion" in trained, trained[-5000:]
    client = mlflow.MlflowClient(stack.url("mlflow"))
    champion = client.get_model_version_by_alias(MODEL_NAME, "champion")
    assert champion.version == "1"
    # The server proxies artifacts: mlflow-artifacts:/<path> is s3://mlflow/artifacts/<path>.
    where = client.get_model_version_download_uri(MODEL_NAME, champion.version)
    assert where.startswith("mlflow-artifacts:/"), where
    s3 = boto3.client(
        "s3",
        endpoint_url=stack.url("s3"),
        aws_access_key_id="minio",
        aws_secret_access_key="minio-secret",
        region_name="us-east-1",
    )
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket="mlflow", Prefix="artifacts/")
    keys = {item["Key"] for page in pages for item in page.get("Contents", [])}
    model_file = f"artifacts/{where.removeprefix('mlflow-artifacts:/').strip('/')}/MLmodel"
    assert model_file in keys, (model_file, sorted(keys)[:20])


def test_the_api_container_serves_that_champion(stack: Stack, trained: str) -> None:
    wait_until_ready(stack.url("api"), stack.container("api"), timeout=120)

    # /ready came from one worker: another may still be loading the champion (a 503 until it has).
    info = within(
        lambda: (answer := requests.get(f"{stack.url('api')}/model/info", timeout=10)).ok and answer.json(),
        "the champion's /model/info",
        60,
        stack.logger("api"),
    )

    assert (info["name"], info["version"], info["alias"]) == (MODEL_NAME, 1, "champion"), info


def test_prometheus_scrapes_the_api(stack: Stack, started: dict) -> None:
    def api_target_up() -> list:
        query = {"query": 'up{job="housing-api"} == 1'}
        return requests.get(f"{stack.url('prometheus')}/api/v1/query", params=query, timeout=5).json()["data"]["result"]

    within(api_target_up, "the API target up in Prometheus", 90, stack.logger("prometheus"))


def test_a_prediction_and_its_feedback_land_in_the_postgres_prediction_log(stack: Stack, trained: str) -> None:
    url = stack.url("api")
    wait_until_ready(url, stack.container("api"), timeout=120)

    answer = within(  # every worker answers once it has loaded the champion
        lambda: (response := requests.post(f"{url}/predict", json=RECORD, timeout=30)).ok and response,
        "a prediction",
        60,
        stack.logger("api"),
    )
    request_id = answer.json()["request_id"]
    feedback = requests.post(f"{url}/feedback", json={"request_id": request_id, "actual_value": 250_000}, timeout=30)
    assert feedback.status_code == 200, feedback.text

    logged = within(
        lambda: stack.psql(f"SELECT model_version, prediction FROM predictions WHERE request_id = '{request_id}'"),
        "the prediction in PostgreSQL",
        30,
        stack.logger("api"),
    )
    served = answer.json()["predictions"][0]["median_house_value"]
    assert logged.split("|")[0] == "1" and float(logged.split("|")[1]) == pytest.approx(served), logged
    assert stack.psql(f"SELECT actual FROM feedback WHERE request_id = '{request_id}'") == "250000", feedback.text
