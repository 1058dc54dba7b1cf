"""Champion and challenger, in process: shadow mode, a sticky traffic split, live errors per version,
a challenger that is absent or fails, and a promotion picked up while serving."""

from __future__ import annotations

import logging
import math
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.project import PROJECT, run_module
from tests.support.serving import ADMIN_TOKEN, RECORD, App, register_version, start_app
from tests.support.tracking import MODEL_NAME, fresh_store

RECORDS = [RECORD, {**RECORD, "median_income": 3.0}, {**RECORD, "housing_median_age": 12}]
CHAMPION = {"name": MODEL_NAME, "version": 1, "alias": "champion"}
CHALLENGER = {"name": MODEL_NAME, "version": 2, "alias": "challenger"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="module")
def contest_store(tmp_path_factory: pytest.TempPathFactory, migrated_store: Path) -> str:
    """Version 1 is the champion; version 2, fitted on another sample, is the challenger."""
    uri = fresh_store(tmp_path_factory.mktemp("contest-store"), migrated_store)
    register_version(uri, "champion")
    register_version(uri, "challenger", seed=2)
    return uri


@pytest.fixture(scope="module")
def shadow_app(tmp_path_factory: pytest.TempPathFactory, contest_store: str) -> Iterator[App]:
    with start_app(tmp_path_factory.mktemp("shadow"), contest_store, challenger_mode="shadow") as app:
        yield app


@pytest.fixture(scope="module")
def split_app(tmp_path_factory: pytest.TempPathFactory, contest_store: str) -> Iterator[App]:
    with start_app(
        tmp_path_factory.mktemp("split"), contest_store, challenger_mode="split", challenger_share=0.3
    ) as app:
        yield app


def predict(app: App, records: dict | list[dict], client: str | None = None) -> dict:
    headers = {"X-Client-ID": client} if client else {}
    response = app.post("/predict", json=records, headers=headers)
    assert response.status_code == 200, response.text
    return response.get_json()


def logged_by_role(app: App, request_id: str, rows: int) -> dict[str, list[dict]]:
    """The prediction log's rows for a request by role, in record order, once `rows` of them are written."""
    by_role: dict[str, list[dict]] = {}
    for row in app.logged(request_id, rows):
        by_role.setdefault(row["role"], []).append(row)
    return by_role


def samples(app: App, name: str) -> dict[tuple[str, str], float]:
    """A metric's values from /metrics by (model_version, role)."""
    return {
        (sample.labels["model_version"], sample.labels["role"]): sample.value
        for family in text_string_to_metric_families(app.get("/metrics").text)
        for sample in family.samples
        if sample.name == name
    }


def feedback(app: App, request_id: str, row: int, actual: float) -> dict:
    response = app.post("/feedback", json={"request_id": request_id, "row": row, "actual_value": actual})
    assert response.status_code == 200, response.text
    return response.get_json()


def rmse(errors: list[float]) -> float:
    return math.sqrt(sum(error * error for error in errors) / len(errors))


def reload(app: App) -> dict:
    return app.post("/admin/reload", headers=ADMIN).get_json()


def test_shadow_logs_the_challengers_predictions_and_returns_only_the_champions(shadow_app):
    body = predict(shadow_app, RECORDS)

    rows = logged_by_role(shadow_app, body["request_id"], rows=2 * len(RECORDS))
    assert body["model"] == CHAMPION
    assert {role: {row["model_version"] for row in found} for role, found in rows.items()} == {
        "champion": {1},
        "shadow": {2},
    }
    returned = [prediction["median_house_value"] for prediction in body["predictions"]]
    assert returned == pytest.approx([row["prediction"] for row in rows["champion"]], abs=0.01)
    shadowed = [row["prediction"] for row in rows["shadow"]]
    assert all(abs(shadow - answer) > 1 for shadow, answer in zip(shadowed, returned, strict=True))
    assert [row["inputs"] for row in rows["shadow"]] == [row["inputs"] for row in rows["champion"]]
    counted = samples(shadow_app, "housing_predictions_total")
    assert counted[("1", "champion")] >= len(RECORDS)
    assert counted[("2", "shadow")] >= len(RECORDS)


def test_shadow_rows_get_live_errors_and_feedback_answers_about_the_returned_row(shadow_app):
    body = predict(shadow_app, RECORDS)
    rows = logged_by_role(shadow_app, body["request_id"], rows=2 * len(RECORDS))
    actual = [300_000.0, 150_000.0, 420_000.0]

    answers = [feedback(shadow_app, body["request_id"], row, value) for row, value in enumerate(actual)]

    returned = [prediction["median_house_value"] for prediction in body["predictions"]]
    assert [(answer["model_version"], answer["role"]) for answer in answers] == [(1, "champion")] * 3
    assert [answer["prediction"] for answer in answers] == pytest.approx(returned, abs=0.01)
    errors = {
        role: [row["prediction"] - value for row, value in zip(rows[role], actual, strict=True)]
        for role in ("champion", "shadow")
    }
    live_rmse = samples(shadow_app, "housing_live_rmse_dollars")
    assert live_rmse[("1", "champion")] == pytest.approx(rmse(errors["champion"]), rel=1e-6)
    assert live_rmse[("2", "shadow")] == pytest.approx(rmse(errors["shadow"]), rel=1e-6)
    assert samples(shadow_app, "housing_live_feedback_count") == {("1", "champion"): 3, ("2", "shadow"): 3}


def test_split_gives_the_challenger_its_share_of_clients_and_each_client_keeps_its_model(split_app):
    clients = [f"client-{number}" for number in range(400)]

    first = {client: predict(split_app, RECORD, client)["model"] for client in clients}

    share = sum(model == CHALLENGER for model in first.values()) / len(clients)
    assert 0.2 <= share <= 0.4, share  # binomial sd at 400 clients is 0.023: ±0.1 is over 4 sd
    assert all(model in (CHAMPION, CHALLENGER) for model in first.values())
    for _ in range(2):
        assert {client: predict(split_app, RECORD, client)["model"] for client in clients[:100]} == {
            client: first[client] for client in clients[:100]
        }


def test_a_client_without_an_id_is_split_by_its_address(split_app):
    models = [predict(split_app, RECORD)["model"] for _ in range(10)]

    assert models == [predict(split_app, RECORD, client="127.0.0.1")["model"]] * 10


def test_split_feedback_gives_live_errors_for_both_versions(split_app):
    by_model = {}
    for number in range(100):
        body = predict(split_app, RECORD, f"feedback-{number}")
        by_model.setdefault(body["model"]["alias"], body)
        if len(by_model) == 2:
            break
    assert set(by_model) == {"champion", "challenger"}
    for alias, body in by_model.items():
        assert list(logged_by_role(split_app, body["request_id"], rows=1)) == [alias]

    answers = {alias: feedback(split_app, body["request_id"], 0, 250_000.0) for alias, body in by_model.items()}

    for alias, body in by_model.items():
        assert (answers[alias]["model_version"], answers[alias]["role"]) == (body["model"]["version"], alias)
        error = body["predictions"][0]["median_house_value"] - 250_000.0
        assert answers[alias]["error"] == pytest.approx(error, abs=0.01)
        assert samples(split_app, "housing_live_mae_dollars")[(str(body["model"]["version"]), alias)] == (
            pytest.approx(abs(error), abs=0.01)
        )


def test_an_absent_or_failing_challenger_never_fails_a_request(tmp_path, migrated_store, caplog):
    store = fresh_store(tmp_path / "store", migrated_store)
    register_version(store, "champion")
    shadow = start_app(tmp_path / "shadow", store, challenger_mode="shadow")
    split = start_app(tmp_path / "split", store, challenger_mode="split", challenger_share=1)
    with shadow, split:
        for app in (shadow, split):
            assert app.get("/ready").get_json()["model"] == CHAMPION
            assert predict(app, RECORD, "someone")["model"] == CHAMPION

        register_version(store, "challenger", failing=True)

        with caplog.at_level(logging.ERROR, logger="serve.routing"):
            for app in (shadow, split):
                assert reload(app)["challenger"] == CHALLENGER
                bodies = [predict(app, RECORDS, f"client-{number}") for number in range(5)]
                assert [body["model"] for body in bodies] == [CHAMPION] * 5
                for body in bodies:
                    assert list(logged_by_role(app, body["request_id"], rows=len(RECORDS))) == ["champion"]
        assert "shadow v2 failed" in caplog.text
        assert "challenger v2 failed; the champion answers" in caplog.text


def test_promote_hands_the_champion_alias_to_the_challenger_of_a_running_server(tmp_path, contest_store):
    database = tmp_path / "store" / "mlflow.db"  # a copy: the registry changes here; artifacts stay shared
    database.parent.mkdir()
    shutil.copy(contest_store.removeprefix("sqlite:///"), database)
    store = f"sqlite:///{database}"
    clients = [f"client-{number}" for number in range(20)]
    with_split = {"challenger_mode": "split", "challenger_share": 0.5}
    with start_app(tmp_path / "app", store, **with_split) as app:
        assert {predict(app, RECORD, client)["model"]["alias"] for client in clients} == {"champion", "challenger"}

        promoted = run_module(PROJECT, "ops.promote", env={"MLFLOW_TRACKING_URI": store})
        assert promoted.returncode == 0, promoted.stderr
        answer = reload(app)

        assert answer["model"] == {**CHAMPION, "version": 2}
        assert answer["challenger"] is None
        assert {tuple(predict(app, RECORD, client)["model"].values()) for client in clients} == {
            (MODEL_NAME, 2, "champion")
        }
