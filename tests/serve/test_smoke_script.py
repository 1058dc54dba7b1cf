"""deploy/smoke.sh, the deploy script's last step, against a real server."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.project import PROJECT

pytestmark = pytest.mark.slow


def test_smoke_script_passes_on_a_ready_server(server):
    done = subprocess.run(["bash", "deploy/smoke.sh", server.url, "30"], cwd=PROJECT, capture_output=True, text=True)

    assert done.returncode == 0, done.stderr
    assert "ready and predicting" in done.stdout


def test_smoke_script_fails_when_nothing_answers():
    done = subprocess.run(
        ["bash", "deploy/smoke.sh", "http://127.0.0.1:9", "3"], cwd=PROJECT, capture_output=True, text=True
    )

    assert done.returncode == 1
    assert "did not answer" in done.stderr
