"""POST /feedback: ground truth for served predictions, and the live RMSE/MAE it feeds to /metrics (in process)."""

from __future__ import annotations

import math
import re
import sqlite3
import time

import pytest

from tests.support.serving import RECORD, App, start_app


def gauge(app: App, name: str) -> float:
    text = app.get("/metrics").text
    return float(re.search(rf'^{name}{{model_version="1",role="champion"}} (\S+)$', text, re.M)[1])


def test_feedback_gives_the_live_rmse_and_mae_of_the_served_version(app):
    records = [RECORD, {**RECORD, "median_income": 3.0}, {**RECORD, "housing_median_age": 12}]
    body = app.post("/predict", json=records).get_json()
    request_id, predicted = body["request_id"], [prediction["median_house_value"] for prediction in body["predictions"]]
    app.logged(request_id, rows=3)
    actual = [300_000.0, 150_000.0, 420_000.0]

    answers = [
        app.post("/feedback", json={"request_id": request_id, "row": row, "actual_value": value})
        for row, value in enumerate(actual)
    ]

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert answers[2].get_json()["error"] == pytest.approx(predicted[2] - actual[2], abs=0.01)
    errors = [p - a for p, a in zip(predicted, actual, strict=True)]
    assert gauge(app, "housing_live_rmse_dollars") == pytest.approx(
        math.sqrt(sum(e * e for e in errors) / 3), rel=1e-6, abs=0.01
    )
    assert gauge(app, "housing_live_mae_dollars") == pytest.approx(sum(map(abs, errors)) / 3, rel=1e-6, abs=0.01)
    assert gauge(app, "housing_live_feedback_count") == 3


def test_feedback_sent_right_after_its_prediction_is_accepted_and_joined(tmp_path, champion_store):
    """The prediction log writes rows behind the responses: a report must not outrun its prediction's row."""
    with start_app(tmp_path, champion_store) as app:
        exchanges = []
        for number in range(200):
            predicted = app.post("/predict", json={**RECORD, "median_income": 2 + number / 100}).get_json()
            report = {"request_id": predicted["request_id"], "actual_value": 200_000.0 + number}
            exchanges.append((predicted["predictions"][0]["median_house_value"], app.post("/feedback", json=report)))

        assert [answer.status_code for _, answer in exchanges] == [200] * 200
        assert all(answer.get_json()["prediction"] == pytest.approx(served, abs=0.01) for served, answer in exchanges)
        assert gauge(app, "housing_live_feedback_count") == 200


def test_feedback_for_an_unknown_prediction_is_a_404(app):
    response = app.post("/feedback", json={"request_id": "never-served", "actual_value": 1.0})

    assert response.status_code == 404
    assert response.get_json()["details"][0]["field"] == "request_id"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"request_id": "x", "actual_value": -5}, "actual_value"),
        ({"request_id": "x"}, "actual_value"),
        ({"request_id": "x", "actual_value": 1, "comment": "hi"}, "comment"),
        ({"request_id": "", "actual_value": 1}, "request_id"),
    ],
)
def test_bad_feedback_is_refused_naming_the_field(app, body, field):
    response = app.post("/feedback", json=body)

    assert response.status_code == 422
    assert field in [detail["field"] for detail in response.get_json()["details"]]


def test_a_version_whose_feedback_left_the_window_no_longer_shows_a_figure(tmp_path, champion_store):
    with start_app(tmp_path, champion_store, live_window=1) as app:
        served = app.post("/predict", json=RECORD).get_json()["request_id"]
        app.logged(served, rows=1)
        app.post("/feedback", json={"request_id": served, "actual_value": 300_000.0})
        assert gauges(app, "housing_live_feedback_count") == {"1": 1.0}
        with sqlite3.connect(tmp_path / "predictions.db") as connection:  # a prediction a version 7 served
            connection.execute(
                "INSERT INTO predictions (request_id, row, created_at, model_name, model_version, inputs,"
                " prediction, latency_ms, role) VALUES ('by-v7', 0, '2026-01-01', 'm', 7, '{}', 1.0, 1.0, 'champion')"
            )

        time.sleep(0.002)  # feedback is ordered by its millisecond timestamp
        app.post("/feedback", json={"request_id": "by-v7", "actual_value": 2.0})

        assert gauges(app, "housing_live_feedback_count") == {"1": 0.0, "7": 1.0}
        assert math.isnan(gauges(app, "housing_live_rmse_dollars")["1"])
        assert gauges(app, "housing_live_rmse_dollars")["7"] == pytest.approx(1.0)


def gauges(app: App, name: str) -> dict[str, float]:
    text = app.get("/metrics").text
    return {
        version: float(value)
        for version, value in re.findall(rf'^{name}{{model_version="(\d+)",role="champion"}} (\S+)$', text, re.M)
    }


def test_two_replicas_on_one_shared_log_take_each_others_feedback(tmp_path, champion_store, postgres):
    """Behind a load balancer a feedback report may reach another replica than the one that served."""
    postgres.create_database("shared_log")
    shared = postgres.url("shared_log")
    with (
        start_app(tmp_path / "a", champion_store, prediction_db=shared) as a,
        start_app(tmp_path / "b", champion_store, prediction_db=shared) as b,
    ):
        request_id = a.post("/predict", json=RECORD).get_json()["request_id"]
        a.logged(request_id, rows=1)

        answer = b.post("/feedback", json={"request_id": request_id, "actual_value": 250_000.0})
        listed = [row["request_id"] for row in b.get("/predictions?limit=10").get_json()["predictions"]]

    assert answer.status_code == 200 and answer.get_json()["model_version"] == 1
    assert request_id in listed
    assert gauge(b, "housing_live_feedback_count") == 1


def test_replicas_with_a_log_each_cannot_take_each_others_feedback(tmp_path, champion_store):
    with start_app(tmp_path / "a", champion_store) as a, start_app(tmp_path / "b", champion_store) as b:
        request_id = a.post("/predict", json=RECORD).get_json()["request_id"]
        a.logged(request_id, rows=1)

        answer = b.post("/feedback", json={"request_id": request_id, "actual_value": 250_000.0})

    assert answer.status_code == 404
