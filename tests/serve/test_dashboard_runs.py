"""The latest pipeline run's candidates side by side (GET /training/runs and the Models page), and the
MLP loss curve's reasons for having none: on the store of a real tiny pipeline run (trained_repo), whose
evaluate stage logged its figures, against the files it wrote; on an empty store; on a store that
cannot be reached."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest

from serve.dashboard.registry import TELEMETRY
from stages.params import CANDIDATES, load_family_params
from tests.support.browser import needs_chromium
from tests.support.processes import free_port
from tests.support.serving import App, Server, ready_server, start_app, start_server
from tests.support.tracking import fresh_store

pytestmark = pytest.mark.slow

MLFLOW_UI = "http://mlflow.example:5000"


@pytest.fixture(scope="module")
def pipeline_repo(trained_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's copy of the repository whose `dvc repro` ran once (a server opens its store)."""
    from tests.support.dvc_repo import copy_repo

    return copy_repo(trained_repo, tmp_path_factory.mktemp("pipeline"))


@pytest.fixture(scope="module")
def pipeline_app(pipeline_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """The service in process on that repository's store, linking runs to MLFLOW_UI (with a trailing slash)."""
    store = f"sqlite:///{pipeline_repo / 'mlflow.db'}"
    with start_app(tmp_path_factory.mktemp("pipeline-app"), store, mlflow_ui_url=f"{MLFLOW_UI}/") as app:
        yield app


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory: pytest.TempPathFactory, migrated_store: Path) -> str:
    return fresh_store(tmp_path_factory.mktemp("empty-store"), migrated_store)


@pytest.fixture(scope="module")
def empty_app(tmp_path_factory: pytest.TempPathFactory, empty_store: str) -> Iterator[App]:
    """The service in process on a store nothing has logged to: no run, no model."""
    with start_app(tmp_path_factory.mktemp("empty-app"), empty_store) as app:
        yield app


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def test_every_candidate_of_the_pipeline_run_has_the_figures_its_files_hold(pipeline_app: App, pipeline_repo: Path):
    answer = pipeline_app.get("/training/runs")
    intervals = read_json(pipeline_repo / "reports" / "intervals.json")

    assert answer.status_code == 200
    run = answer.get_json()
    assert run["problem"] is None and run["missing"] == []
    assert run["selected"] == intervals["selected"]
    assert [row["candidate"] for row in run["candidates"]] == list(CANDIDATES)
    for row in run["candidates"]:
        candidate = row["candidate"]
        scores = read_json(pipeline_repo / "metrics" / f"{candidate}.json")
        report = read_json(pipeline_repo / "reports" / "train" / f"{candidate}.json")
        model = mlflow.models.Model.load(str(pipeline_repo / "models" / candidate / "MLmodel"))
        assert {name: row[name] for name in scores if name in row} == {
            name: value for name, value in scores.items() if not name.startswith("weight_")
        }
        assert row["selected"] == (candidate == intervals["selected"])
        assert row["interval"] == intervals["test_rmse"].get(candidate)
        assert row["run_id"] == model.run_id and row["status"] == "FINISHED" and row["started_at"]
        assert row["link"] == f"{MLFLOW_UI}/#/experiments/{row['experiment_id']}/runs/{model.run_id}"
        assert row["fit_seconds"] == report["fit_seconds"]
        if candidate == "blend":
            assert row["params"]["chosen"] == report["chosen"] and row["device"] is None
        else:
            fitted_with = load_family_params(candidate, pipeline_repo / "params.yaml").model_dump()
            assert row["params"] == {name: str(value) for name, value in fitted_with.items()}
            telemetry = report["telemetry"]
            assert (row["device"], row["device_name"]) == (telemetry["device"], telemetry["device_name"])
            assert row["telemetry"] == {name: value for name, value in telemetry.items() if name in TELEMETRY}
            assert "process_peak_rss_mb" in row["telemetry"]


def test_the_endpoint_is_in_the_openapi_document(pipeline_app: App):
    document = pipeline_app.get("/openapi.json").get_json()

    schema = document["paths"]["/training/runs"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/PipelineRun"}
    assert {"CandidateRun", "Interval", "PipelineRun"} <= document["components"]["schemas"].keys()


def test_an_empty_store_answers_no_candidates_and_what_to_run(empty_app: App):
    answer = empty_app.get("/training/runs")

    assert answer.status_code == 200
    run = answer.get_json()
    assert run["candidates"] == [] and run["missing"] == [] and run["selected"] is None
    assert run["problem"].startswith("no pipeline run in the tracking store yet: run `make repro`")


def test_a_store_that_cannot_be_reached_gives_its_reason_not_a_server_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    unreachable = f"http://127.0.0.1:{free_port()}"

    with start_app(tmp_path, unreachable) as app:
        runs, loss = app.get("/training/runs"), app.get("/training/loss")

    assert (runs.status_code, loss.status_code) == (200, 200)
    assert runs.get_json()["candidates"] == []
    for problem in (runs.get_json()["problem"], loss.get_json()["problem"]):
        assert problem.startswith(f"API request to {unreachable}/api/2.0/mlflow/experiments/search failed")


def test_an_mlp_run_without_epochs_says_whether_it_is_still_training(empty_app: App, empty_store: str):
    client = mlflow.MlflowClient(empty_store)
    experiment = client.create_experiment("training-now")
    run = client.create_run(experiment, tags={"model_family": "mlp"}, run_name="mlp")
    run_id = run.info.run_id

    training = empty_app.get("/training/loss").get_json()
    client.set_terminated(run_id)
    finished = empty_app.get("/training/loss").get_json()

    assert (training["run_id"], training["epochs"]) == (run_id, [])
    assert training["problem"] == f"run {run_id} is training; no epoch logged yet"
    assert finished["problem"] == f"run {run_id} (finished) logged no per-epoch losses"


INTERVAL = re.compile(r"^[+-]\d\.\d{4} \[[+-]\d\.\d{4}, [+-]\d\.\d{4}\]( noise)?$")
"""How the table writes a candidate's interval against the chosen one."""


@pytest.fixture(scope="module")
def pipeline_server(pipeline_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    store = f"sqlite:///{pipeline_repo / 'mlflow.db'}"
    running = ready_server(tmp_path_factory.mktemp("pipeline-server"), store, SERVE_MLFLOW_UI_URL=MLFLOW_UI)
    try:
        yield running
    finally:
        running.stop()


@needs_chromium
def test_the_models_page_sets_the_candidates_side_by_side(pipeline_server: Server, browser_page, pipeline_app: App):
    from playwright.sync_api import expect

    run = pipeline_app.get("/training/runs").get_json()
    browser_page.goto(f"{pipeline_server.url}/dashboard/models")

    rows = browser_page.locator("#runs tr")
    expect(rows).to_have_count(len(CANDIDATES))
    for index, candidate in enumerate(run["candidates"]):
        cells = rows.nth(index).locator("td")
        expect(cells.nth(0)).to_have_text(
            f"{candidate['candidate']} chosen" if candidate["selected"] else candidate["candidate"]
        )
        assert float(cells.nth(6).inner_text()) == pytest.approx(candidate["test_rmse"], abs=5e-5)
        interval = cells.nth(9).inner_text()
        assert interval == "reference" if candidate["selected"] else INTERVAL.match(interval), interval
        if candidate["interval"]:
            assert interval.endswith(" noise") == candidate["interval"]["noise"]
        expect(cells.nth(14).locator("a")).to_have_attribute("href", candidate["link"])
    summary = browser_page.locator("#candidates-summary")
    expect(summary).to_contain_text("Test RMSE per candidate")
    for candidate in CANDIDATES:
        expect(summary).to_contain_text(candidate)
    expect(browser_page.locator("#candidates .scatterlayer .trace")).to_have_count(1)
    expect(browser_page.locator("#runs-empty")).to_be_hidden()
    expect(browser_page.locator("#versions tr")).to_have_count(1)
    assert browser_page.errors == []


@needs_chromium
def test_the_models_page_on_an_empty_store_says_what_to_run(tmp_path: Path, empty_store: str, browser_page):
    from playwright.sync_api import expect

    server = start_server(tmp_path, empty_store)
    try:
        browser_page.goto(f"{server.url}/dashboard/models")
        expect(browser_page.locator("#runs-empty")).to_have_text(
            re.compile(r"^Latest pipeline run: no pipeline run in the tracking store yet: run `make repro`")
        )
        expect(browser_page.locator("#versions-empty")).to_contain_text("No model registered yet: run make repro")
        expect(browser_page.locator("#runs-table")).to_be_hidden()
        expect(browser_page.locator("#versions-table")).to_be_hidden()
        assert browser_page.errors == []
    finally:
        server.stop()
