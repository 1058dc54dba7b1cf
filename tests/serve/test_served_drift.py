"""Drift of served traffic (GET /drift and its gauges) and the retrain endpoint's guards, in process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from housing.schema import RAW_COLUMNS, records
from tests.support.serving import ADMIN_TOKEN, App, start_app
from tests.support.synthetic import drifted_frame, housing_frame

WINDOW = 300
MOVED = {"median_income", "housing_median_age", "ocean_proximity"}
"""What drifted_frame changes; with 300 rows a test may also flag a feature by chance, at its 1% level."""
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory, champion_store: str) -> Iterator[App]:
    """A service measuring drift over its latest 300 served rows, with no pipeline beside it."""
    with start_app(tmp_path_factory.mktemp("drift"), champion_store, drift_window=WINDOW) as app:
        yield app


def drift_gauges(app: App) -> dict[str, float]:
    return {
        sample.name + (f"[{sample.labels['feature']}]" if "feature" in sample.labels else ""): sample.value
        for family in text_string_to_metric_families(app.get("/metrics").text)
        for sample in family.samples
        if sample.name.startswith("housing_served_drift")
    }


def serve(app: App, rows: list[dict]) -> None:
    request_id = app.post("/predict", json=rows).get_json()["request_id"]
    app.logged(request_id, rows=len(rows))


def test_served_traffic_is_compared_with_the_champions_training_data(watched: App) -> None:
    empty = watched.get("/drift").get_json()
    assert empty["rows"] == 0 and empty["problem"] == "no served predictions logged yet"
    assert empty["model"]["version"] == 1

    serve(watched, records(housing_frame(WINDOW, seed=5)[RAW_COLUMNS]))
    stable = watched.get("/drift").get_json()
    assert stable["rows"] == WINDOW and stable["problem"] is None and MOVED.isdisjoint(stable["drifted"])
    assert set(stable["features"]) == set(RAW_COLUMNS)

    serve(watched, records(drifted_frame(WINDOW)[RAW_COLUMNS]))
    shifted = watched.get("/drift").get_json()
    assert set(shifted["drifted"]) >= MOVED
    assert shifted["features"]["ocean_proximity"]["test"] == "chi2"

    gauges = drift_gauges(watched)
    assert gauges["housing_served_drifted_features"] == len(shifted["drifted"])
    assert gauges["housing_served_drift_detected[median_income]"] == 1
    assert gauges["housing_served_drift_detected[longitude]"] == 0
    assert gauges["housing_served_drift_psi[median_income]"] == shifted["features"]["median_income"]["psi"]
    assert gauges["housing_served_drift_rows"] == WINDOW


def test_the_thresholds_are_the_servers_own_settings(tmp_path, champion_store: str) -> None:
    """SERVE_DRIFT__PSI_THRESHOLD and friends: a lenient server flags nothing on the same traffic."""
    with start_app(
        tmp_path, champion_store, drift_window=WINDOW, drift={"psi_threshold": 1e6, "p_value": 1e-300}
    ) as lenient:
        serve(lenient, records(drifted_frame(WINDOW)[RAW_COLUMNS]))
        assert lenient.get("/drift").get_json()["drifted"] == []


def test_retrain_endpoints_need_the_token(watched: App) -> None:
    assert watched.get("/admin/retrain").status_code == 401
    refused = watched.post("/admin/retrain", json={})
    assert refused.status_code == 401 and refused.get_json()["details"][0]["field"] == "Authorization"


def test_retrain_without_a_pipeline_checkout_is_refused_clearly(watched: App) -> None:
    status = watched.get("/admin/retrain", headers=ADMIN).get_json()
    assert status == {"running": False, "last": None, "usage": None}
    refused = watched.post("/admin/retrain", headers=ADMIN)
    assert refused.status_code == 409 and refused.get_json()["error"] == "no pipeline to run"
    assert refused.get_json()["details"][0]["field"] == "SERVE_PIPELINE_DIR"


@pytest.mark.parametrize("body", [{"dry_run": "sometimes"}, {"force": 0}, {"force": True, "extra": 1}, []])
def test_bad_retrain_options_are_refused_naming_the_field(watched: App, body: object) -> None:
    refused = watched.post("/admin/retrain", headers=ADMIN, json=body)
    assert refused.status_code == 422, refused.text
    assert refused.get_json()["details"][0]["field"]
