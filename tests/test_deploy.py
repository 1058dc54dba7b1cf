"""Deployment files, checked by the real tool for each format (no Docker engine here)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from serve.healthcheck import health_url
from tests.support.project import BIN, PROJECT


def run(*command: str | Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(part) for part in command], cwd=PROJECT, capture_output=True, text=True, **kwargs)


def test_hadolint_accepts_the_dockerfile():
    done = run(BIN / "hadolint", "Dockerfile")

    assert done.returncode == 0, done.stdout + done.stderr


def test_the_serving_image_runs_as_non_root_with_a_healthcheck():
    dockerfile = (PROJECT / "Dockerfile").read_text()
    serve_stage = dockerfile.split("AS serve", 1)[1].split("\nFROM ", 1)[0]

    assert "USER 10001:10001" in serve_stage
    copied = re.findall(r"^COPY (?:--\S+ )*(\S+)", serve_stage, re.M)
    assert copied == ["/opt/venv", "housing", "serve", "deploy/entrypoint.sh"], "the model package and the server"
    assert re.search(r'^HEALTHCHECK .* CMD \["python", "-m", "serve.healthcheck"\]$', serve_stage, re.M)
    assert "ENTRYPOINT" in serve_stage and "PROMETHEUS_MULTIPROC_DIR" in serve_stage
    assert "AS train" in dockerfile


@pytest.mark.parametrize(
    ("bind", "url"),
    [
        ("0.0.0.0:8000", "http://127.0.0.1:8000/health"),
        ("[::]:8080", "http://127.0.0.1:8080/health"),
        ("127.0.0.1:9123", "http://127.0.0.1:9123/health"),
    ],
)
def test_the_healthcheck_asks_where_gunicorn_listens(bind: str, url: str) -> None:
    assert health_url(bind) == url


def test_dockerignore_keeps_data_stores_and_virtualenvs_out():
    lines = [line for line in (PROJECT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]

    assert lines[0] == "*"
    included = [line[1:] for line in lines if line.startswith("!")]
    for private in ("data", "mlflow.db", "mlartifacts", ".venv", "models", "predictions.db"):
        assert not any(path.startswith(private) for path in included), private


def test_entrypoint_prepares_an_empty_metrics_folder(tmp_path):
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    (metrics / "counter_1.db").write_text("stale")

    done = run(
        "sh",
        "deploy/entrypoint.sh",
        "ls",
        metrics,
        env={"PATH": os.environ["PATH"], "PROMETHEUS_MULTIPROC_DIR": str(metrics)},
    )

    assert done.returncode == 0, done.stderr
    assert metrics.is_dir() and not any(metrics.iterdir())


def test_compose_file_is_valid():
    done = run(BIN / "docker-compose", "-f", "deploy/compose.yaml", "config", "-q")

    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("workflow", sorted((PROJECT / ".github" / "workflows").glob("*.yml")), ids=lambda p: p.name)
def test_actionlint_accepts_the_workflow(workflow):
    done = run(BIN / "actionlint", workflow)

    assert done.returncode == 0, done.stdout + done.stderr
