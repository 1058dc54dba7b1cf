"""The served prediction path: the fast path where the golden set proves it exact, the pipeline where it
does not or where no golden set shipped, each said in /model/info; a sampled re-check counted in /metrics."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from housing.schema import HousingRow
from serve.prediction import records_columns
from tests.support.serving import RECORD, register_version, start_app
from tests.support.tracking import fresh_store


def metric(text: str, name: str) -> float:
    return sum(float(value) for value in re.findall(rf"^{name}\{{[^}}]*\}} (\S+)$", text, re.M))


def test_the_champion_with_its_golden_set_is_served_by_the_proven_fast_path(app):
    path = app.get("/model/info").get_json()["prediction_path"]

    assert path["serving"] == "fast"
    assert path["check"]["exact"] is True and path["check"]["detail"] == "bit-exact"
    assert path["check"]["golden_rows"] == 40 + 21 and path["check"]["single_rows"] == 61
    assert path["kernels"] == {"model": "Ridge.predict"}


def test_the_fast_path_answers_what_the_pipeline_answers(app):
    records = [
        RECORD,
        {**RECORD, "median_income": 2.5},
        {key: v for key, v in RECORD.items() if key != "total_bedrooms"},
    ]
    model = app.service.parts.champion.current

    answered = [p["median_house_value"] for p in app.post("/predict", json=records).get_json()["predictions"]]

    slow = model.pipeline_dollars(model_columns(records))
    assert answered == [round(value, 2) for value in slow]


def model_columns(records: list[dict]) -> dict[str, np.ndarray]:
    return records_columns([HousingRow(**record) for record in records])


@pytest.mark.parametrize(
    ("golden", "reason"),
    [
        ("none", "the model was registered without golden.parquet"),
        ("tampered", "the pipeline's own predict differs from its evaluated predictions on 1 golden rows"),
    ],
)
def test_without_a_golden_set_that_proves_it_the_pipeline_serves_and_says_why(
    tmp_path: Path, migrated_store: Path, golden: str, reason: str
):
    store = fresh_store(tmp_path / "store", migrated_store)
    register_version(store, golden=golden)

    with start_app(tmp_path / "app", store) as app:
        path = app.get("/model/info").get_json()["prediction_path"]
        response = app.post("/predict", json=RECORD)

    assert path["serving"] == "pipeline" and path["reason"] == reason
    assert response.status_code == 200


def test_a_sampled_share_of_requests_is_predicted_again_and_mismatches_counted(tmp_path: Path, champion_store: str):
    with start_app(tmp_path, champion_store, fast_check_share=1.0) as app:
        for income in (1.5, 4.0, 9.0):
            app.post("/predict", json=[RECORD, {**RECORD, "median_income": income}])
        text = app.get("/metrics").text

    assert metric(text, "housing_fast_path_checks_total") == 6
    assert metric(text, "housing_fast_path_mismatches_total") == 0
