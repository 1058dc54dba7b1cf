"""The JSON endpoints behind the dashboard, on the real service in process: the prediction log's
filters, pages and exports, the live summary, accuracy over time, the registry, the MLP's losses and
the system report; and the dashboard's pages themselves."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import mlflow
import pytest

from housing.names import TARGET_TRANSFORM_PARAM
from housing.schema import RAW_COLUMNS
from serve.dashboard.pages import PAGES
from serve.history import EXPORT_COLUMNS
from tests.support.project import in_forked_child
from tests.support.serving import App, start_app, tiny_champion_store
from tests.support.synthetic import housing_frame

ROWS = 60


def records(rows: int, seed: int) -> list[dict]:
    frame = housing_frame(rows, seed=seed)[RAW_COLUMNS]
    return [
        {name: None if isinstance(value, float) and math.isnan(value) else value for name, value in row.items()}
        for row in frame.to_dict("records")
    ]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, migrated_store: Path) -> str:
    """This module's own store (not the shared champion_store): its tests count versions and log runs."""
    return tiny_champion_store(tmp_path_factory.mktemp("dashboard-store"), migrated_store)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, store: str) -> Iterator[tuple[App, list[dict]]]:
    """The service after ROWS predictions in six requests, every other row with feedback."""
    with start_app(tmp_path_factory.mktemp("dashboard"), store) as app:
        sent = records(ROWS, seed=3)
        request_ids = []
        for start in range(0, ROWS, 10):
            answer = app.post("/predict", json=sent[start : start + 10])
            assert answer.status_code == 200, answer.get_json()
            request_ids.append(answer.get_json()["request_id"])
        logged = [row for request_id in request_ids for row in app.logged(request_id, 10)]
        for row in logged[::2]:
            report = {"request_id": row["request_id"], "row": row["row"], "actual_value": 200_000.0}
            assert app.post("/feedback", json=report).status_code == 200
        yield app, logged


def ids(page: dict) -> set[int]:
    return {row["id"] for row in page["predictions"]}


def test_every_filter_narrows_the_log_to_the_rows_that_pass_it(served):
    app, logged = served
    inland = {row["id"] for row in logged if row["inputs"]["ocean_proximity"] == "INLAND"}
    middle = sorted(row["prediction"] for row in logged)[ROWS // 4 : 3 * ROWS // 4]
    priced = {row["id"] for row in logged if middle[0] <= row["prediction"] <= middle[-1]}
    first_request = logged[0]["request_id"]

    assert app.get("/predictions?limit=1000").get_json()["total"] == ROWS
    assert ids(app.get("/predictions?limit=1000&ocean_proximity=INLAND").get_json()) == inland
    prices = app.get(f"/predictions?limit=1000&min_price={middle[0]}&max_price={middle[-1]}").get_json()
    assert ids(prices) == priced and prices["total"] == len(priced)
    by_request = app.get(f"/predictions?request_id={first_request[:12]}").get_json()
    assert {row["request_id"] for row in by_request["predictions"]} == {first_request} and by_request["total"] == 10
    assert app.get("/predictions?model_version=2").get_json()["total"] == 0
    assert app.get("/predictions?role=shadow").get_json()["total"] == 0
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert app.get("/predictions", query_string={"since": future}).get_json()["total"] == 0
    assert app.get("/predictions", query_string={"until": future}).get_json()["total"] == ROWS


def test_pages_split_the_filtered_rows_without_overlap(served):
    app, logged = served
    pages = [app.get(f"/predictions?limit=25&offset={offset}").get_json() for offset in (0, 25, 50)]

    assert [len(page["predictions"]) for page in pages] == [25, 25, 10]
    assert set().union(*(ids(page) for page in pages)) == {row["id"] for row in logged}
    assert pages[0]["predictions"][0]["id"] > pages[2]["predictions"][-1]["id"], "newest first"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=2026-01-01", "since"),
        ("until=0.5", "until"),
        ("role=referee", "role"),
        ("min_price=10&max_price=5", "max_price"),
        ("since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", "until"),
        ("ocean_proximity=MOON", "ocean_proximity"),
        ("colour=red", "colour"),
        ("model_version=9223372036854775808", "model_version"),  # past SQL's bigint: it overflowed into a 500
        ("offset=1202142571603991729899559907753984", "offset"),
    ],
)
def test_a_bad_filter_is_refused_naming_it(served, query, field):
    app, _ = served
    for path in ("/predictions", "/predictions/export"):
        answer = app.get(f"{path}?{query}")
        assert answer.status_code == 422
        assert field in {detail["field"] for detail in answer.get_json()["details"]}


def test_an_export_holds_exactly_the_filtered_rows_in_either_format(served):
    app, logged = served
    ocean = logged[0]["inputs"]["ocean_proximity"]
    cheapest = sorted(row["prediction"] for row in logged)[ROWS // 4]
    chosen = [row for row in logged if row["prediction"] >= cheapest and row["inputs"]["ocean_proximity"] == ocean]
    filters = {"min_price": cheapest, "ocean_proximity": ocean}

    answer = app.get("/predictions/export", query_string={**filters, "format": "csv"})
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert answer.headers["Content-Disposition"] == "attachment; filename=predictions.csv"
    exported = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert chosen and list(exported[0]) == EXPORT_COLUMNS
    assert sorted(int(row["id"]) for row in exported) == sorted(row["id"] for row in chosen)
    assert {row["ocean_proximity"] for row in exported} == {ocean}

    as_json = app.get("/predictions/export", query_string={**filters, "format": "json"}).get_data(as_text=True)
    assert json.loads(as_json) == sorted(chosen, key=lambda row: -row["id"])
    assert len(json.loads(app.get("/predictions/export?format=json").get_data(as_text=True))) == ROWS


def test_the_live_summary_counts_every_answer_and_places_it_on_a_map_of_the_training_data(served):
    app, logged = served
    summary = app.get("/predictions/summary?minutes=10&points=1000").get_json()

    assert len(summary["per_minute"]) == 10 and sum(minute["count"] for minute in summary["per_minute"]) == ROWS
    assert sum(summary["prices"]["counts"]) == ROWS and summary["prices"]["edges"][-1] >= 500_001
    assert [answer["prediction"] for answer in summary["answers"]] == [row["prediction"] for row in logged[::-1]]
    training = housing_frame(300, seed=1)
    longitudes = [cell[0] for cell in summary["california"]]
    assert summary["california"] and min(longitudes) < training["longitude"].min() + 0.1
    assert app.get("/predictions/summary?minutes=0").status_code == 422


def test_accuracy_over_time_is_the_rmse_of_the_predictions_with_feedback(served):
    app, logged = served
    scored = [row["prediction"] - 200_000.0 for row in logged[::2]]

    (point,) = app.get("/predictions/accuracy?bucket=day").get_json()["points"]

    assert (point["model_version"], point["role"], point["count"]) == (1, "champion", ROWS // 2)
    assert point["rmse"] == pytest.approx(math.sqrt(sum(error**2 for error in scored) / len(scored)))
    assert point["period"] == datetime.now(UTC).date().isoformat()
    assert app.get("/predictions/accuracy?bucket=week").status_code == 422


def test_the_registry_lists_versions_with_aliases_and_their_registration_scores(served, store):
    app, _ = served
    registry = app.get("/models").get_json()

    (version,) = registry["versions"]
    assert registry["name"] == "california-housing" and registry["problem"] is None
    assert version["version"] == 1 and version["aliases"] == ["champion"] and version["metrics"] == {"val_rmse": 0.5}


def log_mlp_run(uri: str, losses: list[tuple[float, float]]) -> None:
    mlflow.set_tracking_uri(uri)
    with mlflow.start_run(run_name="mlp", tags={"model_family": "mlp"}):
        mlflow.log_param(TARGET_TRANSFORM_PARAM, "sqrt")
        for epoch, (train_loss, val_rmse) in enumerate(losses):
            mlflow.log_metrics({"epoch_train_loss": train_loss, "epoch_val_rmse": val_rmse}, step=epoch)


def test_the_mlp_loss_curves_come_from_the_latest_mlp_run(served, store):
    app, _ = served
    assert "no MLP training run" in app.get("/training/loss").get_json()["problem"]

    in_forked_child(log_mlp_run, store, [(1.0, 0.9), (0.5, 0.6), (0.4, 0.55)])
    loss = app.get("/training/loss").get_json()

    assert loss["problem"] is None and loss["run_name"] == "mlp" and loss["target_transform"] == "sqrt"
    assert [(epoch["epoch"], epoch["train_loss"], epoch["val_rmse"]) for epoch in loss["epochs"]] == [
        (0, 1.0, 0.9),
        (1, 0.5, 0.6),
        (2, 0.4, 0.55),
    ]


def test_the_system_report_names_the_model_this_worker_and_why_there_is_no_gpu(served):
    app, _ = served
    status = app.get("/system").get_json()

    assert status["ready"] and status["model"]["version"] == 1 and status["challenger"] is None
    (worker,) = status["workers"]
    assert worker["this_worker"] and worker["rss_mb"] > 0
    assert 0 < status["memory_available_mb"] <= status["memory_total_mb"]
    assert status["gpus"] or status["gpu_problem"]


def test_every_dashboard_page_renders_with_its_navigation_and_the_local_plotly(served):
    app, _ = served
    for name, title in PAGES.items():
        page = app.get(f"/dashboard/{name}")
        assert page.status_code == 200 and f"<h1>{title}</h1>" in page.get_data(as_text=True)
        assert app.get(f"/dashboard/static/{name}.js").status_code == 200
    plotly = app.get("/dashboard/plotly.min.js")
    assert plotly.status_code == 200 and b"plotly.js" in plotly.get_data()[:200]
    assert app.get("/dashboard/").status_code == 302
    missing = app.get("/dashboard/nowhere")
    assert missing.status_code == 404 and "live" in missing.get_json()["details"][0]["message"]


def test_the_history_filters_are_query_parameters_in_the_openapi_document(served):
    """That every route is in the document at all: tests/serve/test_api.py, from the URL map."""
    app, _ = served
    paths = app.get("/openapi.json").get_json()["paths"]
    assert {parameter["name"] for parameter in paths["/predictions"]["get"]["parameters"]} >= {
        "since",
        "until",
        "model_version",
        "role",
        "ocean_proximity",
        "min_price",
        "max_price",
        "limit",
        "offset",
    }
