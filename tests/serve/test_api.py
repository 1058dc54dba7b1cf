"""Every endpoint of the app (in process, real model and log), and every bad input it refuses with a 4xx."""

from __future__ import annotations

import importlib.metadata

import mlflow
import numpy as np
import pandas as pd
import pytest

from housing.schema import NUMERIC_COLUMNS, RAW_COLUMNS, TARGET_SCALE
from serve.app import undocumented
from tests.support.serving import ADMIN_TOKEN, RECORD
from tests.support.synthetic import housing_frame
from tests.support.tracking import MODEL_NAME, registered_model


def raw_frame(records: list[dict]) -> pd.DataFrame:
    """Records as the frame pyfunc expects (its schema check refuses whole numbers for doubles)."""
    return pd.DataFrame(records, columns=RAW_COLUMNS).astype(dict.fromkeys(NUMERIC_COLUMNS, float))


@pytest.fixture(scope="module")
def pyfunc_model(champion_store: str) -> mlflow.pyfunc.PyFuncModel:
    """The champion loaded through MLflow's pyfunc interface, as evaluate scores it."""
    return registered_model(champion_store, MODEL_NAME, "champion")


@pytest.fixture(scope="module")
def records() -> list[dict]:
    """Generated records; two of them without total_bedrooms (it may be missing)."""
    rows = housing_frame(20, seed=9)[RAW_COLUMNS].assign(
        total_bedrooms=lambda frame: frame["total_bedrooms"].fillna(100)
    )
    records = rows.to_dict("records")
    for record in records[3:5]:
        del record["total_bedrooms"]
    return records


def test_predict_one_record_answers_dollars_the_evaluated_model_gives(app, pyfunc_model):
    response = app.post("/predict", json=RECORD)

    assert response.status_code == 200
    body = response.get_json()
    expected = pyfunc_model.predict(raw_frame([RECORD]))[0] * TARGET_SCALE
    assert body["predictions"][0]["median_house_value"] == pytest.approx(expected, abs=0.01)
    assert body["model"] == {"name": MODEL_NAME, "version": 1, "alias": "champion"}
    assert response.headers["X-Request-ID"] == body["request_id"]


def test_predict_a_batch_keeps_order_and_takes_missing_bedrooms(app, pyfunc_model, records):
    response = app.post("/predict", json=records)

    assert response.status_code == 200
    served = [prediction["median_house_value"] for prediction in response.get_json()["predictions"]]
    expected = np.asarray(pyfunc_model.predict(raw_frame(records))).ravel() * TARGET_SCALE
    assert any("total_bedrooms" not in record for record in records)
    np.testing.assert_allclose(served, expected, atol=0.01)


def test_whole_numbers_for_float_fields_are_accepted(app):
    response = app.post("/predict", json={**RECORD, "longitude": -122, "median_income": 8})

    assert response.status_code == 200


def test_invocations_accepts_mlflow_records_and_split_formats(app, pyfunc_model, records):
    frame = raw_frame(records)
    split = {"columns": RAW_COLUMNS, "data": frame.astype(object).where(frame.notna(), None).values.tolist()}

    by_records = app.post("/invocations", json={"dataframe_records": records})
    by_split = app.post("/invocations", json={"dataframe_split": split})

    expected = np.asarray(pyfunc_model.predict(frame)).ravel()
    np.testing.assert_allclose(by_records.get_json()["predictions"], expected, rtol=1e-9)
    np.testing.assert_allclose(by_split.get_json()["predictions"], expected, rtol=1e-9)


def test_invocations_accepts_instances_and_inputs_as_records_or_columns_and_ignores_params(app, pyfunc_model, records):
    frame = raw_frame(records)
    columns = {name: frame[name].astype(object).where(frame[name].notna(), None).tolist() for name in RAW_COLUMNS}
    expected = np.asarray(pyfunc_model.predict(frame)).ravel()

    for body in (
        {"instances": records},
        {"instances": columns},
        {"inputs": records},
        {"inputs": columns},
        {"dataframe_records": records, "params": {"temperature": 0.5}},
    ):
        response = app.post("/invocations", json=body)
        assert response.status_code == 200, (body, response.text)
        np.testing.assert_allclose(response.get_json()["predictions"], expected, rtol=1e-9)


def test_ping_and_version_answer_as_mlflows_scoring_server(app):
    ping = app.get("/ping")
    version = app.get("/version")

    assert (ping.status_code, ping.text, ping.mimetype) == (200, "\n", "application/json")
    assert version.status_code == 200 and version.text == importlib.metadata.version("mlflow")


def test_request_id_from_the_client_is_kept(app):
    response = app.post("/predict", json=RECORD, headers={"X-Request-ID": "client-abc.1"})

    assert response.get_json()["request_id"] == "client-abc.1"


def test_health_and_ready(app):
    assert app.get("/health").get_json() == {"status": "ok"}
    ready = app.get("/ready")
    assert ready.status_code == 200
    assert ready.get_json()["model"]["version"] == 1


def test_model_info_describes_the_registered_version(app):
    info = app.get("/model/info").get_json()

    assert (info["name"], info["version"], info["alias"]) == (MODEL_NAME, 1, "champion")
    assert info["run_id"]
    assert info["registration_tags"]["val_rmse"] == "0.5"
    assert info["model_metadata"]["train_data_sha256"] == "0" * 64
    assert info["model_metadata"]["trained_at"]
    assert [column["name"] for column in info["input_schema"]] == RAW_COLUMNS


def test_predictions_lists_logged_predictions_newest_first(app):
    request_id = app.post("/predict", json=[RECORD, {**RECORD, "median_income": 2.0}]).get_json()["request_id"]

    rows = app.logged(request_id, rows=2)
    assert sorted(row["row"] for row in rows) == [0, 1]
    assert rows[0]["inputs"]["ocean_proximity"] == "NEAR BAY"
    assert rows[0]["model_version"] == 1 and rows[0]["latency_ms"] > 0
    page = app.get("/predictions?limit=1&offset=1").get_json()
    assert (page["limit"], page["offset"], len(page["predictions"])) == (1, 1, 1)


def test_metrics_count_requests_predictions_and_model_version(app):
    app.post("/predict", json=[RECORD] * 3)

    text = app.get("/metrics").text

    assert 'flask_http_request_duration_seconds_count{endpoint="predict",method="POST",status="200"}' in text
    assert "housing_predictions_total" in text
    assert "housing_predicted_value_dollars_bucket" in text
    assert f'housing_model_info{{alias="champion",model_name="{MODEL_NAME}",model_version="1"' in text
    assert "housing_model_version 1.0" in text


def test_index_page_has_a_form_for_every_field(app):
    page = app.get("/")

    assert page.status_code == 200
    for name in RAW_COLUMNS:
        assert f'name="{name}"' in page.text


def test_openapi_document_describes_the_endpoints(app):
    document = app.get("/openapi.json").get_json()

    assert document["openapi"].startswith("3.")
    assert set(RAW_COLUMNS) == set(document["components"]["schemas"]["HousingRow"]["properties"])


def test_every_route_of_the_app_is_in_the_openapi_document_or_left_out_with_a_reason(app):
    """The URL map, not a list kept by hand: a route added without its documentation fails here."""
    documented = app.get("/openapi.json").get_json()["paths"]
    left_out = undocumented()
    routes = {
        (rule.rule, method.lower())
        for rule in app.service.app.url_map.iter_rules()
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }

    assert all(left_out.values()) and not set(left_out) & set(documented)
    assert set(left_out) <= {rule for rule, _ in routes}
    assert {(path, method) for path, item in documented.items() for method in item} == {
        (rule, method) for rule, method in routes if rule not in left_out
    }


def test_admin_reload_needs_the_token(app):
    assert app.post("/admin/reload").status_code == 401
    assert app.post("/admin/reload", headers={"Authorization": "Bearer wrong"}).status_code == 401

    response = app.post("/admin/reload", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})

    assert response.status_code == 200
    assert response.get_json()["model"]["version"] == 1


BAD_INPUTS = [
    ("malformed JSON", {"data": b'{"longitude": ', "headers": {"Content-Type": "application/json"}}, 400, "body"),
    ("nested 100,000 deep", {"data": b"[" * 100_000, "headers": {"Content-Type": "application/json"}}, 400, "body"),
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
def test_bad_input_gets_a_4xx_naming_the_field(app, case, request_kwargs, status, field):
    response = app.post("/predict", **request_kwargs)

    assert response.status_code == status, response.text
    body = response.get_json()
    assert body["error"]
    assert field in [detail["field"] for detail in body["details"]], body
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"dataframe_records": [RECORD], "dataframe_split": {"columns": [], "data": []}},
        {"instances": [RECORD], "inputs": [RECORD]},
        {"inputs": {"longitude": [1.0, 2.0], "latitude": [37.0]}},
        {"dataframe_split": {"columns": ["longitude"], "data": [[1, 2]]}},
    ],
)
def test_invocations_refuses_bad_mlflow_requests_in_mlflows_shape(app, body):
    response = app.post("/invocations", json=body)

    assert response.status_code == 400
    assert set(response.get_json()) == {"error_code", "message"} and response.get_json()["message"]


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "offset=-1", "limit=ten", "sort=asc"])
def test_predictions_refuses_bad_paging(app, query):
    response = app.get(f"/predictions?{query}")

    assert response.status_code == 422
    assert response.get_json()["details"]


def test_unknown_path_and_method_answer_json(app):
    assert app.get("/nope").get_json()["error"] == "not found"
    assert app.get("/predict").status_code == 405


@pytest.mark.parametrize(
    ("headers", "body", "status", "in_message"),
    [
        ({"Content-Type": "text/csv"}, "longitude,latitude\nabc,37.9\n", 400, "[0].longitude: not a number"),
        ({"Content-Type": "text/csv"}, "longitude,latitude\n-122.2,37.9,1\n", 400, "[0]"),
        ({"Content-Type": "application/json"}, "[" + " " * 1_000_001 + "]", 413, "body"),
    ],
)
def test_invocations_refusals_name_the_problem_in_mlflows_shape(app, headers, body, status, in_message):
    response = app.post("/invocations", data=body, headers=headers)

    assert response.status_code == status
    assert in_message in response.get_json()["message"]
