"""What only a real HTTP server shows: MLflow's own scoring client works against it, and refusals can
be read.

A body over SERVE_MAX_BODY_BYTES is refused before it is read; the client must still get the 413
rather than a connection reset (reported on another machine; not reproduced here, kept as a guard).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pytest
import requests
from mlflow.pyfunc.scoring_server.client import ScoringServerClient

from housing.schema import RAW_COLUMNS, TARGET_SCALE
from tests.support.serving import RECORD, Server

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("size", [1_000_001, 64_000_000])
def test_a_body_over_the_limit_gets_a_413_the_client_reads(server: Server, size: int):
    body = b"[" + b" " * (size - 2) + b"]"

    response = requests.post(
        f"{server.url}/predict", data=body, headers={"Content-Type": "application/json"}, timeout=30
    )

    assert response.status_code == 413
    assert response.json()["details"][0]["field"] == "body"
    assert requests.get(f"{server.url}/health", timeout=30).status_code == 200


def test_mlflows_scoring_server_client_waits_for_and_predicts_with_this_server(server: Server):
    address = urlsplit(server.url)
    client = ScoringServerClient(address.hostname, address.port)
    frame = pd.DataFrame([RECORD, {**RECORD, "median_income": 3.0}])[RAW_COLUMNS]

    client.wait_server_ready(timeout=30)
    plain = client.invoke(frame).get_predictions()
    with_params = client.invoke(frame, params={"temperature": 0.5}).get_predictions()

    served = requests.post(f"{server.url}/predict", json=frame.to_dict("records"), timeout=30).json()
    dollars = [prediction["median_house_value"] for prediction in served["predictions"]]
    np.testing.assert_allclose(np.ravel(plain) * TARGET_SCALE, dollars, atol=0.01)
    np.testing.assert_array_equal(np.ravel(with_params), np.ravel(plain))
    assert client.get_version()
