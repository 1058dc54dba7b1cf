"""The Retrain page in headless Chromium against a real gunicorn server whose pipeline is a copy of a
repository that has run once: a retrain started with a preset and an override runs as a DVC experiment
whose record and MLflow runs name them (and a refused override is marked, with nothing run); a retrain
cancelled from the page while the MLP trains leaves no new version, the lock released, the record
saying cancelled and DVC free for the next one. (tests/test_retrain_control.py: the same at the
command and the API.)"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
import requests
import yaml

from serve.retrain_lock import LOCK, STATUS, lock_held
from tests.support.browser import needs_chromium, watched
from tests.support.dvc_repo import sh, status, versions
from tests.support.processes import eventually
from tests.support.serving import ADMIN_TOKEN, Server, ready_server
from tests.support.tracking import MODEL_NAME, logged_runs

pytestmark = [pytest.mark.slow, needs_chromium]

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
RETRAIN_S = 420
"""The longest a retrain of the tiny repository may take here (the quick preset trains four families)."""
ANSWER_MS = 60_000
"""How long a start may take to be answered: the command imports the params models first (slow on busy cores)."""


@pytest.fixture
def pipeline_server(repo: Path, tmp_path: Path) -> Iterator[Server]:
    """The API serving the repository's champion from its own store, with the repository as its pipeline."""
    server = ready_server(tmp_path / "server", f"sqlite:///{repo / 'mlflow.db'}", SERVE_PIPELINE_DIR=str(repo))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def retrain_page(pipeline_server: Server, browser):
    """The Retrain page with the admin token entered; console errors collected (a refused start's 422 aside)."""
    page = watched(browser.new_page())
    page.goto(f"{pipeline_server.url}/dashboard/retrain")
    page.get_by_label("admin token").fill(ADMIN_TOKEN)
    page.get_by_label("admin token").dispatch_event("change")
    yield page
    page.close()


def start(page, preset: str, overrides: str, force: bool = True) -> None:
    page.get_by_label("preset").select_option(preset)
    page.get_by_label("param overrides, one key=value a line").fill(overrides)
    page.get_by_label("force").set_checked(force)
    page.get_by_role("button", name="Start retrain").click()


def admin_status(server: Server) -> dict:
    return requests.get(f"{server.url}/admin/retrain", headers=ADMIN, timeout=30).json()


def test_a_retrain_started_with_a_preset_and_an_override_runs_as_an_experiment_that_names_them(
    repo: Path, pipeline_server: Server, retrain_page
) -> None:
    from playwright.sync_api import expect

    page = retrain_page
    expect(page.locator("#no-retrain")).to_be_visible()
    expect(page.get_by_role("button", name="Cancel retrain")).to_be_disabled()

    start(page, "quick", "train.mlp.epochs=0\ntrain.mlp.hidden_layers=[8]")
    overrides = page.get_by_label("param overrides, one key=value a line")
    expect(overrides).to_have_attribute("aria-invalid", "true", timeout=ANSWER_MS)
    expect(page.locator("#params-problem")).to_have_text(
        "Refused, nothing ran: train.mlp.epochs: Input should be greater than 0 (got 0)"
    )
    assert not (repo / STATUS).exists() and admin_status(pipeline_server)["last"] is None

    start(page, "quick", "train.mlp.epochs=3")
    expect(overrides).to_have_attribute("aria-invalid", "false", timeout=ANSWER_MS)
    expect(page.locator("#params-problem")).to_be_hidden()
    in_register = eventually(
        lambda: (admin_status(pipeline_server)["last"] or {}).get("current_stage") == "register",
        timeout=RETRAIN_S,
        interval=0.2,
    )
    assert in_register, admin_status(pipeline_server)
    too_late = requests.post(f"{pipeline_server.url}/admin/retrain/cancel", headers=ADMIN, timeout=30)
    assert too_late.status_code == 409 and too_late.json()["error"] == "too late to cancel"
    expect(page.locator("#state")).to_have_text("finished", timeout=RETRAIN_S * 1000)

    record = status(repo)
    assert record["preset"] == "quick" and record["overrides"] == {"train.mlp.epochs": 3}
    assert record["outcome"]["version"] == 2 and versions(repo) == [1, 2]
    expect(page.locator("#record")).to_contain_text("quick")
    expect(page.locator("#record")).to_contain_text("train.mlp.epochs=3")
    expect(page.locator("#record")).to_contain_text(f"{record['experiment']}: params.yaml holds the preset")
    expect(page.locator("#stages")).to_contain_text("train@mlp")
    expect(page.locator("#outcome")).to_have_text(f"v2 {record['outcome']['alias']}")

    store = f"sqlite:///{repo / 'mlflow.db'}"
    runs = logged_runs(store, MODEL_NAME, f"tags.`dvc.exp_name` = '{record['experiment']}'")
    trained = {run.data.tags.get("model_family") for run in runs}
    assert {"random_forest", "xgboost", "lightgbm", "mlp"} <= trained, "the preset's families retrained"
    assert {run.data.tags["retrain.preset"] for run in runs} == {"quick"}
    assert {run.data.tags["retrain.overrides"] for run in runs} == {json.dumps({"train.mlp.epochs": 3})}
    (mlp,) = [run for run in runs if run.data.tags.get("model_family") == "mlp"]
    assert mlp.data.params["train.mlp.epochs"] == "3" and mlp.data.params["train.mlp.hidden_layers"] == "[128, 64]"
    version = mlflow.MlflowClient(store).get_model_version(MODEL_NAME, "2")
    assert version.tags["retrain.preset"] == "quick"

    params = yaml.safe_load((repo / "params.yaml").read_text())
    assert params["train"]["mlp"]["epochs"] == 3, "as after `dvc exp run -S`, params.yaml keeps the experiment's"
    assert record["experiment"] in sh(repo, "dvc", "exp", "list", "--name-only")
    assert [error for error in page.errors if "status of 422" not in error] == []


def test_a_retrain_cancelled_from_the_page_while_the_mlp_trains_leaves_nothing_behind(
    repo: Path, pipeline_server: Server, retrain_page
) -> None:
    from playwright.sync_api import expect

    page = retrain_page
    params_before = (repo / "params.yaml").read_text()
    start(page, "default", "train.mlp.epochs=100000\ntrain.mlp.early_stopping_patience=100000")
    expect(page.locator("#current-stage")).to_have_text("train@mlp", timeout=RETRAIN_S * 1000)
    expect(page.locator("#cpu")).to_have_text(re.compile(r"^[\d,.]+ %$"), timeout=ANSWER_MS)
    expect(page.locator("#memory")).to_contain_text(" MB in ")
    expect(page.locator("#gpu")).to_contain_text(re.compile(r" MB|none"))  # from GET /system

    def mlp_run_of_this_retrain() -> str | None:
        """The id of the retrain's MLP run, once the page draws its losses (an epoch is logged)."""
        experiment = status(repo).get("experiment")
        joined = f"tags.`dvc.exp_name` = '{experiment}' and tags.model_family = 'mlp'"
        runs = logged_runs(f"sqlite:///{repo / 'mlflow.db'}", MODEL_NAME, joined) if experiment else []
        shown = page.locator("#loss-run").text_content() or ""
        return runs[0].info.run_id if runs and runs[0].info.run_id[:8] in shown and "0 epochs" not in shown else None

    run_id = eventually(mlp_run_of_this_retrain, timeout=RETRAIN_S, interval=0.5)
    assert run_id, page.locator("#loss-run").text_content()
    expect(page.locator("#loss-summary")).to_contain_text("so far", timeout=ANSWER_MS)

    page.get_by_role("button", name="Cancel retrain").click()
    expect(page.locator("#state")).to_have_text("cancelled", timeout=120_000)
    expect(page.get_by_role("button", name="Cancel retrain")).to_be_disabled()
    expect(page.locator("#stages")).to_contain_text("interrupted by the cancel")
    expect(page.locator("#record")).to_contain_text("put back as it was")

    record = status(repo)
    assert record["state"] == "cancelled" and record["interrupted_stage"] == "train@mlp"
    assert versions(repo) == [1], "nothing registered"
    assert not lock_held(repo / LOCK) and admin_status(pipeline_server)["running"] is False
    assert (repo / "params.yaml").read_text() == params_before
    assert "train@mlp" in sh(repo, "dvc", "status"), "no stale DVC lock"

    started = requests.post(f"{pipeline_server.url}/admin/retrain", json={"dry_run": True}, headers=ADMIN, timeout=90)
    assert started.status_code == 202, started.text
    finished = eventually(lambda: admin_status(pipeline_server)["last"]["state"] == "finished", timeout=RETRAIN_S)
    assert finished, admin_status(pipeline_server)
    assert page.errors == []
