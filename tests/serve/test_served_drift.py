"""Drift of served traffic (GET /drift and its gauges) and the retrain endpoint's guards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from stages.schema import FEATURES, records
from tests.conftest import eventually
from tests.serve.conftest import ADMIN_TOKEN, Server, predict_logged, ready_server
from tests.synthetic import drifted_frame, housing_frame

WINDOW = 300
MOVED = {"median_income", "housing_median_age", "ocean_proximity"}
"""What drifted_frame changes; with 300 rows a test may also flag a feature by chance, at its 1% level."""
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory, champion_store: str) -> Iterator[Server]:
    """A server measuring drift over its latest 300 served rows every second, with no pipeline beside it."""
    workdir = tmp_path_factory.mktemp("drift")
    settings = {"SERVE_DRIFT_WINDOW": str(WINDOW), "SERVE_DRIFT_SECONDS": "1"}
    running = ready_server(workdir, champion_store, **settings)
    try:
        yield running
    finally:
        running.stop()


def drift_gauges(server: Server) -> dict[str, float]:
    text = requests.get(f"{server.url}/metrics", timeout=30).text
    return {
        sample.name + (f"[{sample.labels['feature']}]" if "feature" in sample.labels else ""): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("housing_served_drift")
    }


def test_served_traffic_is_compared_with_the_champions_training_data(watched: Server) -> None:
    empty = requests.get(f"{watched.url}/drift", timeout=30).json()
    assert empty["rows"] == 0 and empty["problem"] == "no served predictions logged yet"
    assert empty["model"]["version"] == 1

    predict_logged(watched, records(housing_frame(WINDOW, seed=5)[FEATURES]))
    stable = requests.get(f"{watched.url}/drift", timeout=30).json()
    assert stable["rows"] == WINDOW and stable["problem"] is None and MOVED.isdisjoint(stable["drifted"])
    assert set(stable["features"]) == set(FEATURES)

    predict_logged(watched, records(drifted_frame(WINDOW)[FEATURES]))
    shifted = requests.get(f"{watched.url}/drift", timeout=30).json()
    assert set(shifted["drifted"]) >= MOVED
    assert shifted["features"]["ocean_proximity"]["test"] == "chi2"

    def gauges_caught_up() -> dict[str, float]:
        gauges = drift_gauges(watched)
        return gauges if gauges.get("housing_served_drifted_features", 0) >= 3 else {}

    gauges = eventually(gauges_caught_up, timeout=15)
    assert gauges["housing_served_drift_detected[median_income]"] == 1
    assert gauges["housing_served_drift_detected[longitude]"] == 0
    assert gauges["housing_served_drift_psi[median_income]"] == shifted["features"]["median_income"]["psi"]
    assert gauges["housing_served_drift_rows"] == WINDOW


def test_retrain_endpoints_need_the_token(watched: Server) -> None:
    assert requests.get(f"{watched.url}/admin/retrain", timeout=30).status_code == 401
    refused = requests.post(f"{watched.url}/admin/retrain", json={}, timeout=30)
    assert refused.status_code == 401 and refused.json()["details"][0]["field"] == "Authorization"


def test_retrain_without_a_pipeline_checkout_is_refused_clearly(watched: Server, tmp_path: Path) -> None:
    status = requests.get(f"{watched.url}/admin/retrain", headers=ADMIN, timeout=30).json()
    assert status == {"running": False, "last": None}
    refused = requests.post(f"{watched.url}/admin/retrain", headers=ADMIN, timeout=30)
    assert refused.status_code == 409 and refused.json()["error"] == "no pipeline to run"
    assert refused.json()["details"][0]["field"] == "SERVE_PIPELINE_DIR"


@pytest.mark.parametrize("body", [{"dry_run": "sometimes"}, {"force": 0}, {"force": True, "extra": 1}, []])
def test_bad_retrain_options_are_refused_naming_the_field(watched: Server, body: object) -> None:
    refused = requests.post(f"{watched.url}/admin/retrain", headers=ADMIN, json=body, timeout=30)
    assert refused.status_code == 422, refused.text
    assert refused.json()["details"][0]["field"]
