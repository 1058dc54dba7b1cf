"""The images as shipped, built by deploy/image.sh (`make image`, `make image-train`).

The serving image is started with podman against a store this test makes and used as a client would:
ready, a prediction equal to the same model's in this process, metrics, its own HEALTHCHECK, an
unprivileged user, readable 4xx answers, a clean stop on SIGTERM and a prediction log that outlives
the container. The train image runs `dvc repro` on a checkout and must score what the host scores."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
import requests

from housing.schema import TARGET_SCALE
from tests.support.containers import (
    LIMITS,
    container,
    image_size,
    needs_podman,
    podman,
    wait_until_ready,
    writable_by_anyone,
)
from tests.support.dvc_repo import make_repo
from tests.support.processes import eventually, free_port
from tests.support.serving import RECORD, tiny_champion_store
from tests.support.tracking import MODEL_NAME, registered_model

pytestmark = [pytest.mark.slow, needs_podman]

MAX_IMAGE_BYTES = 1_000_000_000
GRACEFUL_TIMEOUT_S = 10
"""serve/gunicorn.conf.py's default: SIGTERM waits this long for requests in flight."""


@pytest.fixture(scope="module")
def serve_image(project_image: Callable[[str], str]) -> str:
    return project_image("serve")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, migrated_store: Path) -> str:
    folder = tmp_path_factory.mktemp("image-store")
    uri = tiny_champion_store(folder, migrated_store)
    writable_by_anyone(folder)
    return uri


@pytest.fixture(scope="module")
def volume() -> Iterator[str]:
    name = f"housing-predictions-{os.getpid()}"
    podman("volume", "create", name)
    yield name
    podman("volume", "rm", "-f", name, check=False)


def run_api(serve_image: str, store: str, volume: str, name: str, port: int):
    """The API container as a user runs it, on the host's network at `port`, the store mounted where it is."""
    folder = str(Path(store.removeprefix("sqlite:///")).parent)
    return container(
        serve_image,
        name,
        "--network",
        "host",
        "-e",
        f"GUNICORN_BIND=127.0.0.1:{port}",
        "-e",
        f"MLFLOW_TRACKING_URI={store}",
        "-v",
        f"{folder}:{folder}",
        "-v",
        f"{volume}:/data",
    )


def test_the_serving_image_is_at_most_a_gigabyte(serve_image: str) -> None:
    assert image_size(serve_image) <= MAX_IMAGE_BYTES


def test_the_serving_image_serves_the_champion_as_shipped(serve_image: str, store: str, volume: str) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with run_api(serve_image, store, volume, f"housing-api-{os.getpid()}", port) as name:
        wait_until_ready(url, name)

        def predict() -> requests.Response | None:
            response = requests.post(f"{url}/predict", json=RECORD, timeout=10)
            return response if response.ok else None

        # /ready came from one worker: the other may still be loading the champion (a 503 until it has).
        answer = eventually(predict)
        in_process = registered_model(store, MODEL_NAME, "champion").get_raw_model().predict(pd.DataFrame([RECORD]))
        assert answer is not None, "no 200 from /predict in 30 s"
        served = answer.json()["predictions"][0]["median_house_value"]
        assert served == round(float(in_process[0]) * TARGET_SCALE, 2), "the API answers to the cent"

        metrics = requests.get(f"{url}/metrics", timeout=10).text
        assert 'flask_http_request_total{method="POST",status="200"}' in metrics, metrics

        assert podman("healthcheck", "run", name, check=False).returncode == 0
        assert podman("exec", name, "id", "-u").stdout.strip() == "10001"

        body = b"[" + b"0," * 10_000_000 + b"0]"
        too_big = requests.post(f"{url}/predict", data=body, headers={"Content-Type": "application/json"}, timeout=30)
        assert too_big.status_code == 413 and too_big.json()["error"], too_big.text
        malformed = requests.post(f"{url}/predict", json={**RECORD, "median_income": "rich"}, timeout=10)
        assert malformed.status_code in (400, 422), malformed.text
        assert "median_income" in malformed.text

        started = time.monotonic()
        podman("stop", "-t", "30", name)
        stopped_in = time.monotonic() - started
        assert stopped_in < GRACEFUL_TIMEOUT_S, f"SIGTERM took {stopped_in:.1f} s"
        assert podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip() == "0"

    request_id = answer.json()["request_id"]
    with run_api(serve_image, store, volume, f"housing-api-again-{os.getpid()}", port) as name:
        wait_until_ready(url, name)
        history = requests.get(f"{url}/predictions", params={"request_id": request_id}, timeout=10).json()
    assert [row["request_id"] for row in history["predictions"]] == [request_id], history


@pytest.fixture(scope="module")
def train_image(project_image: Callable[[str], str]) -> str:
    return project_image("train")


def test_the_train_image_runs_the_pipeline_to_the_hosts_scores(
    train_image: str, trained_repo: Path, tmp_path: Path
) -> None:
    """The same generated data and params as trained_repo, whose pipeline ran on the host."""
    repo = make_repo(tmp_path, {"retrain": {"min_feedback": 20}})

    done = podman(
        "run", "--rm", "--network", "none", *LIMITS, "-v", f"{tmp_path}:{tmp_path}", "-w", repo, train_image, "repro",
        timeout=900,
    )  # fmt: skip

    assert "promoted to champion" in done.stdout + done.stderr, done.stdout + done.stderr
    host_scores = sorted((trained_repo / "metrics").glob("*.json"))
    assert host_scores
    for host in host_scores:
        assert json.loads((repo / "metrics" / host.name).read_text()) == json.loads(host.read_text()), host.name
