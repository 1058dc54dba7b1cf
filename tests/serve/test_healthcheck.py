"""The container's HEALTHCHECK command, `python -m serve.healthcheck`, against a real server."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.processes import free_port
from tests.support.project import PROJECT

pytestmark = pytest.mark.slow


def healthcheck(bind: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GUNICORN_BIND": bind}
    command = [sys.executable, "-m", "serve.healthcheck"]
    return subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=30)


def test_healthy_where_gunicorn_listens(server):
    assert healthcheck(server.url.removeprefix("http://")).returncode == 0


def test_unhealthy_where_nothing_listens_and_says_where_it_asked():
    bind = f"0.0.0.0:{free_port()}"

    done = healthcheck(bind)

    assert done.returncode == 1
    assert f"http://127.0.0.1:{bind.rsplit(':', 1)[1]}/health" in done.stderr
