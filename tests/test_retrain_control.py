"""The retrain command's controls: presets and param overrides checked by the pipeline's params models
before anything runs (the command, then the API's 422 naming the param), and a cancel that stops DVC
mid-stage, restores params.yaml, registers nothing and leaves the lock and DVC free. Each end-to-end
test works in a copy of a repository whose pipeline has run once (tests/test_retrain_dashboard.py:
the same through the Retrain page)."""

from __future__ import annotations

import copy
import json
import pickle
import re
import signal
import subprocess
from pathlib import Path
from typing import get_args

import numpy as np
import pytest
import yaml

from housing.mlp import TorchMLPRegressor, epochs_reported_to
from housing.names import EPOCH_TRAIN_LOSS, EPOCH_VAL_RMSE
from ops.presets import RETRAIN_PRESETS, InvalidParams, checked
from serve.admin import Preset
from serve.retrain_lock import BAD_PARAMS, LOCK, STATUS, lock_held
from stages.train import EPOCH_METRICS
from tests.support.dvc_repo import make_repo, project_environment, retrain, sh, status, versions
from tests.support.processes import eventually
from tests.support.project import PROJECT, run_module
from tests.support.serving import ADMIN_TOKEN, start_app
from tests.support.tracking import MODEL_NAME, fresh_store, logged_runs

SHIPPED = yaml.safe_load((PROJECT / "params.yaml").read_text())
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
LONG_MLP = ["--set", "train.mlp.epochs=100000", "--set", "train.mlp.early_stopping_patience=100000"]
"""An MLP that trains until it is cancelled: its epochs are logged one by one meanwhile."""


def test_the_command_the_api_and_the_page_offer_the_same_presets() -> None:
    page = (PROJECT / "serve/dashboard/templates/retrain.html").read_text()
    options = re.findall(r'<option value="(\w+)"', page.split('id="preset"', 1)[1].split("</select>", 1)[0])
    assert options == list(RETRAIN_PRESETS) == list(get_args(Preset))
    assert RETRAIN_PRESETS["default"] == {}, "default is params.yaml as it stands"


def test_overrides_are_checked_by_the_models_of_the_sections_they_touch_naming_each_param() -> None:
    params = checked({**RETRAIN_PRESETS["quick"], "train.mlp.epochs": 3, "seed": 7}, copy.deepcopy(SHIPPED))
    assert params["train"]["mlp"]["epochs"] == 3 and params["seed"] == 7
    assert params["train"]["mlp"]["hidden_layers"] == RETRAIN_PRESETS["quick"]["train.mlp.hidden_layers"]

    with pytest.raises(InvalidParams) as refused:
        checked(
            {"train.mlp.epochs": 0, "train.mlp.epoch": 3, "blend.members": ["mlp", "nope"], "device": "tpu"},
            copy.deepcopy(SHIPPED),
        )
    problems = refused.value.problems
    assert problems["train.mlp.epochs"] == "Input should be greater than 0 (got 0)"
    assert problems["train.mlp.epoch"] == "not a param of params.yaml"
    assert "unknown families ['nope']" in problems["blend.members"]
    assert problems["device"].startswith("Input should be 'auto', 'cpu' or 'cuda'")
    assert set(problems) == {"train.mlp.epochs", "train.mlp.epoch", "blend.members", "device"}


def test_the_mlp_reports_each_epoch_as_it_ends_to_the_listener_of_the_block_only() -> None:
    """What the train stage logs to MLflow while the MLP trains; the listener is no part of the model."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(300, 6)), rng.normal(size=300)
    heard: list[tuple[int, dict[str, float]]] = []
    model = TorchMLPRegressor(hidden_layers=(8,), epochs=4, early_stopping_patience=10, batch_size=64)
    with epochs_reported_to(lambda epoch, figures: heard.append((epoch, figures))):
        model.fit(X[:200], y[:200], eval_set=(X[200:], y[200:]))
    model.fit(X[:200], y[:200], eval_set=(X[200:], y[200:]))

    assert [epoch for epoch, _ in heard] == [0, 1, 2, 3], "the second fit, outside the block, told no one"
    assert [figures[EPOCH_VAL_RMSE] for _, figures in heard] == pytest.approx(model.epoch_val_rmse_)
    assert [figures[EPOCH_TRAIN_LOSS] for _, figures in heard] == pytest.approx(model.epoch_train_loss_)
    assert all(set(figures) == set(EPOCH_METRICS) for _, figures in heard), "named as train logs them"
    assert pickle.loads(pickle.dumps(model)).epochs == 4, "a lambda kept on the model would not pickle"


@pytest.mark.slow
def test_a_refused_override_exits_before_the_lock_and_before_dvc(tmp_path: Path) -> None:
    """A folder with params.yaml and nothing else: DVC would fail here, so the refusal came first."""
    (tmp_path / "params.yaml").write_text((PROJECT / "params.yaml").read_text())
    done = run_module(tmp_path, "ops.retrain", "--force", "--set", "train.mlp.epochs=0", "--set", "train.xgb.depth=3")

    assert done.returncode == BAD_PARAMS, done.stderr
    assert "invalid param train.mlp.epochs: Input should be greater than 0 (got 0)" in done.stderr.splitlines()
    assert "invalid param train.xgb.depth: not a param of params.yaml" in done.stderr.splitlines()
    assert not (tmp_path / "reports").exists(), "no lock taken, no record written"


@pytest.mark.slow
def test_the_api_answers_a_refused_param_with_a_422_naming_it_and_a_cancel_of_nothing_with_a_409(
    tmp_path: Path, migrated_store: Path
) -> None:
    """The pipeline's checkout as the server sees it: dvc.yaml, params.yaml and the code, no run yet."""
    repo = make_repo(tmp_path)
    with start_app(tmp_path / "app", fresh_store(tmp_path / "store", migrated_store), pipeline_dir=repo) as app:
        body = {"force": True, "preset": "quick", "params": {"train.mlp.epochs": -1, "train.mlp.hidden_layers": [8]}}
        refused = app.post("/admin/retrain", json=body, headers=ADMIN)
        assert refused.status_code == 422, refused.text
        assert refused.get_json() == {
            "error": "invalid retrain params",
            "details": [
                {
                    "field": "params.train.mlp.epochs",
                    "message": "train.mlp.epochs: Input should be greater than 0 (got -1)",
                }
            ],
        }
        assert app.get("/admin/retrain", headers=ADMIN).get_json()["last"] is None, "nothing ran"

        unknown = app.post("/admin/retrain", json={"preset": "fastest", "params": {"--force": 1}}, headers=ADMIN)
        assert unknown.status_code == 422
        assert {detail["field"] for detail in unknown.get_json()["details"]} == {"preset", "params.--force.[key]"}

        idle = app.post("/admin/retrain/cancel", headers=ADMIN)
        assert idle.status_code == 409 and idle.get_json()["error"] == "no retrain is running"
        assert app.post("/admin/retrain/cancel").status_code == 401


@pytest.mark.slow
def test_a_cancel_stops_dvc_mid_stage_restores_params_and_registers_nothing(repo: Path, tmp_path: Path) -> None:
    """SIGTERM to the command while the MLP trains (after it has logged an epoch: its losses are live)."""
    params_before = (repo / "params.yaml").read_text()
    log = tmp_path / "retrain.log"
    with log.open("w") as output:
        command = subprocess.Popen(
            ["python", "-m", "ops.retrain", "--force", *LONG_MLP],
            cwd=repo,
            env=project_environment(),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        running_mlp = eventually(lambda: mlp_run_with_epochs(repo), timeout=240, interval=0.5)
        assert running_mlp, f"the MLP logged no epoch; the command said:\n{log.read_text()}"
        assert status(repo)["current_stage"] == "train@mlp" and running_mlp.info.status == "RUNNING"
        command.send_signal(signal.SIGTERM)
        command.wait(timeout=120)
    finally:
        if command.poll() is None:
            command.kill()

    assert command.returncode == 1 and "error: retrain cancelled during train@mlp (SIGTERM)" in log.read_text()
    record = status(repo)
    assert record["state"] == "cancelled" and record["interrupted_stage"] == "train@mlp"
    assert record["cancelled_by"] == "SIGTERM" and "current_stage" not in record and "outcome" not in record
    assert record["stages"]["ran"] == [], "every stage before the MLP's was unchanged"
    assert {"preprocess", "train@xgboost"} <= set(record["stages"]["skipped"])
    assert record["overrides"] == {"train.mlp.epochs": 100000, "train.mlp.early_stopping_patience": 100000}
    assert record["params_restored"] is True and (repo / "params.yaml").read_text() == params_before
    assert versions(repo) == [1]
    assert not lock_held(repo / LOCK)
    assert not any(json.loads((repo / ".dvc/tmp/rwlock").read_text()).values()), "DVC released its stage locks"

    runs = logged_runs(f"sqlite:///{repo / 'mlflow.db'}", MODEL_NAME, f"tags.`dvc.exp_name` = '{record['experiment']}'")
    assert [run.data.tags["model_family"] for run in runs] == ["mlp"]
    assert runs[0].info.status == "FAILED", "its stage stopped on the interrupt"
    assert runs[0].data.tags["retrain.preset"] == "default"
    assert json.loads(runs[0].data.tags["retrain.overrides"]) == record["overrides"]

    assert "train@mlp" in sh(repo, "dvc", "status"), "DVC answers: no stale lock"
    retrain(repo, "--dry-run")
    assert status(repo)["state"] == "finished", "a new retrain takes the lock and runs DVC"


def mlp_run_with_epochs(repo: Path):
    """The retrain's MLP run once it has logged an epoch, while it trains."""
    if not (repo / STATUS).exists() or "experiment" not in status(repo):
        return None
    store = f"sqlite:///{repo / 'mlflow.db'}"
    joined = f"tags.`dvc.exp_name` = '{status(repo)['experiment']}' and tags.model_family = 'mlp'"
    runs = logged_runs(store, MODEL_NAME, joined)
    if not runs:
        return None
    import mlflow

    epochs = mlflow.MlflowClient(store).get_metric_history(runs[0].info.run_id, "epoch_val_rmse")
    return runs[0] if epochs else None
