"""Feedback sent the moment its prediction is answered, to whichever gunicorn worker or replica: accepted,
and joined to its prediction in the log."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import requests

from tests.support.serving import RECORD, ready_server

pytestmark = pytest.mark.slow


def predict_then_report(predicting: str, reporting: str, actual: float) -> tuple[dict, requests.Response]:
    """Predict one record at `predicting`, then at once report its actual value to `reporting`."""
    predicted = requests.post(f"{predicting}/predict", json=RECORD, timeout=30).json()
    report = {"request_id": predicted["request_id"], "actual_value": actual}
    return predicted, requests.post(f"{reporting}/feedback", json=report, timeout=30)


def joined(database: Path, request_ids: list[str]) -> int:
    """How many of these requests' feedback reports join their logged prediction."""
    marks = ",".join("?" * len(request_ids))
    with sqlite3.connect(database) as connection:
        query = (
            "SELECT COUNT(*) FROM feedback AS f JOIN predictions AS p ON p.request_id = f.request_id"
            f" AND p.row = f.row WHERE f.request_id IN ({marks})"
        )
        return connection.execute(query, request_ids).fetchone()[0]


def assert_accepted_and_joined(exchanges: list[tuple[dict, requests.Response]], database: Path) -> None:
    assert [answer.status_code for _, answer in exchanges] == [200] * len(exchanges), exchanges[0][1].text
    for predicted, answer in exchanges:
        assert answer.json()["prediction"] == pytest.approx(predicted["predictions"][0]["median_house_value"], abs=0.01)
    assert joined(database, [predicted["request_id"] for predicted, _ in exchanges]) == len(exchanges)


def test_feedback_right_after_its_prediction_is_accepted_by_whichever_worker_gets_it(server):
    exchanges = [predict_then_report(server.url, server.url, 200_000.0 + number) for number in range(200)]

    assert_accepted_and_joined(exchanges, server.prediction_db)


def test_feedback_right_after_a_prediction_another_replica_answered_is_accepted(tmp_path, champion_store):
    shared = tmp_path / "predictions.db"
    a = ready_server(tmp_path / "a", champion_store, SERVE_PREDICTION_DB=str(shared))
    try:
        b = ready_server(tmp_path / "b", champion_store, SERVE_PREDICTION_DB=str(shared))
        try:
            exchanges = [predict_then_report(a.url, b.url, 200_000.0 + number) for number in range(50)]
        finally:
            b.stop()
    finally:
        a.stop()

    assert_accepted_and_joined(exchanges, shared)
