"""The served pipeline: the logged model itself, made single-threaded without changing a prediction;
and a champion this code cannot load, refused with a reason that says how to retrain."""

from pathlib import Path

import numpy as np
import pytest
import requests

from housing.fast import single_threaded
from housing.schema import RAW_COLUMNS, TARGET, TARGET_SCALE
from stages.families import fit_pipeline
from stages.splits import TrainingData
from tests.support.params import tiny_family, tiny_features
from tests.support.serving import RECORD, start_app, start_server
from tests.support.synthetic import housing_frame
from tests.support.tracking import MODEL_NAME, fresh_store
from tests.support.unloadable_model import register_unloadable_champion

FAMILIES = {"lightgbm": tiny_family("lightgbm", seeds=2), "random_forest": tiny_family("random_forest")}
"""The families whose estimators hold n_jobs: a forest, and boosters bagged over seeds."""


@pytest.mark.parametrize("family", FAMILIES)
def test_single_threaded_sets_every_n_jobs_and_keeps_predictions(family: str) -> None:
    frame = housing_frame(300, seed=3)
    X, y = frame[RAW_COLUMNS], frame[TARGET].to_numpy() / TARGET_SCALE
    pipeline, _ = fit_pipeline(family, FAMILIES[family], tiny_features(), "cpu", 0, TrainingData(X, y, X, y))
    before = pipeline.predict(X)

    served = single_threaded(pipeline)

    n_jobs = {name: value for name, value in served.get_params(deep=True).items() if name.endswith("n_jobs")}
    assert n_jobs and set(n_jobs.values()) == {1}, n_jobs
    # A forest sums its trees' outputs in another order on one thread: equal to float rounding.
    np.testing.assert_allclose(served.predict(X), before, rtol=1e-12)


@pytest.fixture
def unloadable_store(tmp_path: Path, migrated_store: Path) -> str:
    """A store whose champion names a module this checkout lacks (tests.support.unloadable_model)."""
    store = fresh_store(tmp_path / "store", migrated_store)
    register_unloadable_champion(store, MODEL_NAME, tmp_path)
    return store


def assert_refused_as_incompatible(ready: dict) -> None:
    assert ready["ready"] is False
    problem = ready["problem"]
    assert "california-housing v1 was trained by an incompatible version of housing-mlops" in problem
    assert "stages.features" in problem and "make repro" in problem


def test_a_champion_this_code_cannot_load_is_refused_with_how_to_retrain(tmp_path, unloadable_store):
    with start_app(tmp_path / "app", unloadable_store) as app:
        ready = app.get("/ready")
        assert ready.status_code == 503
        assert_refused_as_incompatible(ready.get_json())
        assert app.post("/predict", json=RECORD).status_code == 503


@pytest.mark.slow
def test_the_server_refuses_it_from_its_workers_first_load(tmp_path, unloadable_store):
    """A gunicorn worker answers only after its first attempt to load the champion: the refusal is there at once."""
    server = start_server(tmp_path / "server", unloadable_store)
    try:
        ready = requests.get(f"{server.url}/ready", timeout=5)
        assert ready.status_code == 503
        assert_refused_as_incompatible(ready.json())
        assert "it cannot be loaded: ModuleNotFoundError: No module named 'stages.features'" in ready.json()["problem"]
    finally:
        server.stop()
