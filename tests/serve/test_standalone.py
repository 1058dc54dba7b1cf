"""The server as the serving image holds it: the model package and serve/, no params.yaml, no stages/
or ops/. It loads the champion and predicts, and never imports the pipeline's code."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.project import PROJECT
from tests.support.serving import RECORD

pytestmark = pytest.mark.slow

SERVE_WITHOUT_THE_PIPELINE = """
import json, sys
import serve.wsgi
client = serve.wsgi.app.test_client()
answers = [client.get("/ready").status_code, client.post("/predict", json={record}).status_code]
ours = sorted({{name.split(".")[0] for name in sys.modules}} & {{"housing", "stages", "serve", "ops"}})
print(json.dumps({{"answers": answers, "packages": ours}}))
"""


def test_the_server_runs_from_the_model_package_and_serve_alone(tmp_path: Path, champion_store: str):
    """What the serving image holds: housing/ and serve/, no params.yaml, no stages/ or ops/."""
    image = tmp_path / "app"
    for package in ("housing", "serve"):
        shutil.copytree(PROJECT / package, image / package, ignore=shutil.ignore_patterns("__pycache__"))
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("SERVE_", "PROMETHEUS_"))}
    environment |= {
        "PYTHONPATH": str(image),
        "MLFLOW_TRACKING_URI": champion_store,
        "SERVE_PREDICTION_DB": str(tmp_path / "predictions.db"),
    }
    script = SERVE_WITHOUT_THE_PIPELINE.format(record=repr(RECORD))

    done = subprocess.run([sys.executable, "-c", script], cwd=image, env=environment, capture_output=True, text=True)

    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.splitlines()[-1]) == {"answers": [200, 200], "packages": ["housing", "serve"]}
