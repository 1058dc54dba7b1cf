"""This server against a real `mlflow models serve` on the same champion: the same requests to both,
compared by status and predictions (MLflow 3.17's scoring protocol)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
import requests

from housing.schema import RAW_COLUMNS
from tests.support.processes import answers, free_port, running
from tests.support.project import BIN
from tests.support.serving import RECORD, Server
from tests.support.tracking import MODEL_NAME

pytestmark = pytest.mark.slow

FRAME = pd.DataFrame([RECORD, {**RECORD, "median_income": 3.0, "total_bedrooms": None}])[RAW_COLUMNS]
SPLIT = json.loads(FRAME.to_json(orient="split"))
RECORDS = json.loads(FRAME.to_json(orient="records"))
COLUMNS = {name: [record[name] for record in RECORDS] for name in RAW_COLUMNS}
JSON = {"Content-Type": "application/json"}
REQUESTS = {
    "dataframe_split with index": (JSON, {"dataframe_split": SPLIT}),
    "dataframe_split without index": (JSON, {"dataframe_split": {k: v for k, v in SPLIT.items() if k != "index"}}),
    "dataframe_records": (JSON, {"dataframe_records": RECORDS}),
    "instances as records": (JSON, {"instances": RECORDS}),
    "inputs as records": (JSON, {"inputs": RECORDS}),
    "inputs as columns": (JSON, {"inputs": COLUMNS}),
    "params the model does not declare": (JSON, {"dataframe_records": RECORDS, "params": {"temperature": 0.5}}),
    "whole numbers for float columns": (
        JSON,
        {"dataframe_records": [{**RECORD, "longitude": -122, "population": 322}]},
    ),
    "csv with a header": ({"Content-Type": "text/csv"}, FRAME.to_csv(index=False)),
    "csv with a charset": ({"Content-Type": "text/csv; charset=utf-8"}, FRAME.to_csv(index=False)),
    "two formats": (JSON, {"dataframe_records": RECORDS, "inputs": RECORDS}),
    "no format": (JSON, {"records": RECORDS}),
    "a list, not an object": (JSON, RECORDS),
    "malformed JSON": (JSON, "{"),
    "a column missing": (JSON, {"dataframe_records": [{k: v for k, v in RECORD.items() if k != "latitude"}]}),
    "text/plain": ({"Content-Type": "text/plain"}, "longitude=1"),
    "another charset": ({"Content-Type": "application/json; charset=latin-1"}, {"dataframe_records": RECORDS}),
    "an unknown content-type parameter": (
        {"Content-Type": "application/json; format=pandas-split"},
        {"dataframe_records": RECORDS},
    ),
}


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory, champion_store: str) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": champion_store, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    command = [BIN / "mlflow", "models", "serve", "-m", f"models:/{MODEL_NAME}@champion"]
    command += ["--env-manager", "local", "-w", "1", "-h", "127.0.0.1", "-p", str(port)]
    log = tmp_path_factory.mktemp("mlflow-serve") / "serve.log"
    # 300 s: its start (mlflow, sklearn, the model) is slow under `make test`'s coverage on a loaded machine.
    with running(command, log, lambda: answers(f"{url}/ping"), 300, env):
        yield url


def send(url: str, name: str) -> requests.Response:
    headers, body = REQUESTS[name]
    data = body if isinstance(body, str) else json.dumps(body)
    return requests.post(f"{url}/invocations", data=data, headers=headers, timeout=60)


@pytest.mark.parametrize("name", REQUESTS)
def test_the_same_request_gets_the_same_status_and_predictions(server: Server, mlflow_server: str, name: str):
    theirs, ours = send(mlflow_server, name), send(server.url, name)

    assert ours.status_code == theirs.status_code, (theirs.text[:300], ours.text[:300])
    assert ours.headers["Content-Type"].split(";")[0] == theirs.headers["Content-Type"].split(";")[0]
    if theirs.status_code == 200:
        np.testing.assert_allclose(ours.json()["predictions"], theirs.json()["predictions"], rtol=1e-12)
    elif theirs.headers["Content-Type"].startswith("application/json"):
        assert set(ours.json()) == {"error_code", "message"}
        assert ours.json()["error_code"] == theirs.json()["error_code"]
