"""Every endpoint of a real gunicorn server, and every kind of bad input it must refuse with a 4xx."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
import requests

from stages.schema import FEATURES, NUMERIC_FEATURES, TARGET_SCALE
from tests.conftest import eventually
from tests.serve.conftest import ADMIN_TOKEN, MODEL_NAME, RECORD
from tests.synthetic import housing_frame


def raw_frame(records: list[dict]) -> pd.DataFrame:
    """Records as the frame pyfunc expects (its schema check refuses whole numbers for doubles)."""
    return pd.DataFrame(records, columns=FEATURES).astype(dict.fromkeys(NUMERIC_FEATURES, float))


def post(server, path: str, **kwargs) -> requests.Response:
    return requests.post(f"{server.url}{path}", timeout=30, **kwargs)


def get(server, path: str, **kwargs) -> requests.Response:
    return requests.get(f"{server.url}{path}", timeout=30, **kwargs)


@pytest.fixture(scope="module")
def pyfunc_model(champion_store: str) -> mlflow.pyfunc.PyFuncModel:
    """The champion loaded through MLflow's pyfunc interface, as evaluate scores it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", champion_store)
        return mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion")


@pytest.fixture(scope="module")
def records() -> list[dict]:
    """Generated records; two of them without total_bedrooms (it may be missing)."""
    rows = housing_frame(20, seed=9)[FEATURES].assign(total_bedrooms=lambda frame: frame["total_bedrooms"].fillna(100))
    records = rows.to_dict("records")
    for record in records[3:5]:
        del record["total_bedrooms"]
    return records


def test_predict_one_record_answers_dollars_the_evaluated_model_gives(server, pyfunc_model):
    response = post(server, "/predict", json=RECORD)

    assert response.status_code == 200
    body = response.json()
    expected = pyfunc_model.predict(raw_frame([RECORD]))[0] * TARGET_SCALE
    assert body["predictions"][0]["median_house_value"] == pytest.approx(expected, abs=0.01)
    assert body["model"] == {"name": MODEL_NAME, "version": 1, "alias": "champion"}
    assert response.headers["X-Request-ID"] == body["request_id"]


def test_predict_a_batch_keeps_order_and_takes_missing_bedrooms(server, pyfunc_model, records):
    response = post(server, "/predict", json=records)

    assert response.status_code == 200
    served = [prediction["median_house_value"] for prediction in response.json()["predictions"]]
    expected = np.asarray(pyfunc_model.predict(raw_frame(records))).ravel() * TARGET_SCALE
    assert any("total_bedrooms" not in record for record in records)
    np.testing.assert_allclose(served, expected, atol=0.01)


def test_whole_numbers_for_float_fields_are_accepted(server):
    response = post(server, "/predict", json={**RECORD, "longitude": -122, "median_income": 8})

    assert response.status_code == 200


def test_invocations_accepts_mlflow_records_and_split_formats(server, pyfunc_model, records):
    frame = raw_frame(records)
    split = {"columns": FEATURES, "data": frame.astype(object).where(frame.notna(), None).values.tolist()}

    by_records = post(server, "/invocations", json={"dataframe_records": records})
    by_split = post(server, "/invocations", json={"dataframe_split": split})

    expected = np.asarray(pyfunc_model.predict(frame)).ravel()
    np.testing.assert_allclose(by_records.json()["predictions"], expected, rtol=1e-9)
    np.testing.assert_allclose(by_split.json()["predictions"], expected, rtol=1e-9)


def test_request_id_from_the_client_is_kept(server):
    response = post(server, "/predict", json=RECORD, headers={"X-Request-ID": "client-abc.1"})

    assert response.json()["request_id"] == "client-abc.1"


def test_health_and_ready(server):
    assert get(server, "/health").json() == {"status": "ok"}
    ready = get(server, "/ready")
    assert ready.status_code == 200
    assert ready.json()["model"]["version"] == 1


def test_model_info_describes_the_registered_version(server):
    info = get(server, "/model/info").json()

    assert (info["name"], info["version"], info["alias"]) == (MODEL_NAME, 1, "champion")
    assert info["run_id"]
    assert info["registration_tags"]["val_rmse"] == "0.5"
    assert info["model_metadata"]["train_data_sha256"] == "0" * 64
    assert info["model_metadata"]["trained_at"]
    assert [column["name"] for column in info["input_schema"]] == FEATURES


def test_predictions_lists_logged_predictions_newest_first(server):
    request_id = post(server, "/predict", json=[RECORD, {**RECORD, "median_income": 2.0}]).json()["request_id"]

    def logged() -> list[dict]:
        return [
            row
            for row in get(server, "/predictions?limit=1000").json()["predictions"]
            if row["request_id"] == request_id
        ]

    rows = eventually(logged, timeout=10)
    assert sorted(row["row"] for row in rows) == [0, 1]
    assert rows[0]["inputs"]["ocean_proximity"] == "NEAR BAY"
    assert rows[0]["model_version"] == 1 and rows[0]["latency_ms"] > 0
    page = get(server, "/predictions?limit=1&offset=1").json()
    assert (page["limit"], page["offset"], len(page["predictions"])) == (1, 1, 1)


def test_metrics_count_requests_predictions_and_model_version(server):
    post(server, "/predict", json=[RECORD] * 3)

    text = get(server, "/metrics").text

    assert 'flask_http_request_duration_seconds_count{endpoint="predict",method="POST",status="200"}' in text
    assert "housing_predictions_total" in text
    assert "housing_predicted_value_dollars_bucket" in text
    assert f'housing_model_info{{alias="champion",model_name="{MODEL_NAME}",model_version="1"' in text
    assert "housing_model_version 1.0" in text


def test_index_page_has_a_form_for_every_field(server):
    page = get(server, "/")

    assert page.status_code == 200
    for name in FEATURES:
        assert f'name="{name}"' in page.text


def test_openapi_document_describes_the_endpoints(server):
    document = get(server, "/openapi.json").json()

    assert document["openapi"].startswith("3.")
    assert {"/predict", "/invocations", "/ready", "/model/info", "/predictions", "/admin/reload"} <= set(
        document["paths"]
    )
    assert set(FEATURES) == set(document["components"]["schemas"]["HousingRow"]["properties"])


def test_admin_reload_needs_the_token(server):
    assert post(server, "/admin/reload").status_code == 401
    assert post(server, "/admin/reload", headers={"Authorization": "Bearer wrong"}).status_code == 401

    response = post(server, "/admin/reload", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})

    assert response.status_code == 200
    assert response.json()["model"]["version"] == 1


BAD_INPUTS = [
    ("malformed JSON", {"data": b'{"longitude": ', "headers": {"Content-Type": "application/json"}}, 400, "body"),
    ("wrong content type", {"data": b"longitude=1", "headers": {"Content-Type": "text/plain"}}, 415, "Content-Type"),
    ("wrong type", {"json": {**RECORD, "median_income": "rich"}}, 422, "median_income"),
    ("missing field", {"json": {k: v for k, v in RECORD.items() if k != "latitude"}}, 422, "latitude"),
    ("unknown field", {"json": {**RECORD, "pool": True}}, 422, "pool"),
    ("NaN", {"data": b'{"longitude": NaN}', "headers": {"Content-Type": "application/json"}}, 422, "longitude"),
    (
        "Infinity",
        {"data": b'[{"latitude": Infinity}]', "headers": {"Content-Type": "application/json"}},
        422,
        "[0].latitude",
    ),
    ("out of bounds", {"json": {**RECORD, "latitude": 48.0}}, 422, "latitude"),
    ("negative rooms", {"json": [RECORD, {**RECORD, "total_rooms": -3}]}, 422, "[1].total_rooms"),
    ("unknown ocean_proximity", {"json": {**RECORD, "ocean_proximity": "MOON"}}, 422, "ocean_proximity"),
    ("empty list", {"json": []}, 422, "body"),
    ("not a record", {"json": 42}, 422, "body"),
    ("batch too large", {"json": [RECORD] * 1001}, 413, "body"),
    (
        "body too large",
        {"data": b"[" + b" " * 1_000_001 + b"]", "headers": {"Content-Type": "application/json"}},
        413,
        "body",
    ),
]


@pytest.mark.parametrize(
    ("case", "request_kwargs", "status", "field"), BAD_INPUTS, ids=[case[0] for case in BAD_INPUTS]
)
def test_bad_input_gets_a_4xx_naming_the_field(server, case, request_kwargs, status, field):
    response = post(server, "/predict", **request_kwargs)

    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]
    assert field in [detail["field"] for detail in body["details"]], body
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"dataframe_records": [RECORD], "dataframe_split": {"columns": [], "data": []}},
        {"instances": [RECORD]},
        {"dataframe_split": {"columns": ["longitude"], "data": [[1, 2]]}},
    ],
)
def test_invocations_refuses_bad_mlflow_requests(server, body):
    response = post(server, "/invocations", json=body)

    assert response.status_code == 422
    assert response.json()["details"]


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "offset=-1", "limit=ten", "sort=asc"])
def test_predictions_refuses_bad_paging(server, query):
    response = get(server, f"/predictions?{query}")

    assert response.status_code == 422
    assert response.json()["details"]


def test_unknown_path_and_method_answer_json(server):
    assert get(server, "/nope").json()["error"] == "not found"
    assert get(server, "/predict").status_code == 405
