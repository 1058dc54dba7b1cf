"""schemathesis generates requests from /openapi.json and sends them to the real server: no 5xx, and
every answer matches the document (status codes, content types, response schemas).

One check is off: positive_data_acceptance. MLflow's `dataframe_split` format is positional (the
types of `data` depend on `columns`), which JSON Schema cannot say, so a schema-valid split can
still lack a field and is rightly refused with a 422.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.serving import ADMIN_TOKEN

pytestmark = pytest.mark.slow


def test_generated_requests_get_documented_answers_and_no_server_error(server, tmp_path):
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"{server.url}/openapi.json"]
    options = [
        "--checks=all",
        "--exclude-checks=positive_data_acceptance",
        "--max-examples=30",
        "--seed=1",
        f"--header=Authorization: Bearer {ADMIN_TOKEN}",
    ]

    done = subprocess.run([*command, *options], cwd=tmp_path, capture_output=True, text=True, timeout=600)

    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
