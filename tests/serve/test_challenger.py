"""Champion and challenger on a real gunicorn server: shadow mode, a sticky traffic split, live errors
per version, a challenger that is absent or fails, and a promotion picked up while serving."""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import PROJECT, eventually, run_stage
from tests.serve.conftest import (
    ADMIN_TOKEN,
    MODEL_NAME,
    RECORD,
    Server,
    fresh_store,
    ready_server,
    register_version,
)

RECORDS = [RECORD, {**RECORD, "median_income": 3.0}, {**RECORD, "housing_median_age": 12}]
CHAMPION = {"name": MODEL_NAME, "version": 1, "alias": "champion"}
CHALLENGER = {"name": MODEL_NAME, "version": 2, "alias": "challenger"}


@pytest.fixture(scope="module")
def contest_store(tmp_path_factory: pytest.TempPathFactory, migrated_store: Path) -> str:
    """Version 1 is the champion; version 2, fitted on another sample, is the challenger."""
    uri = fresh_store(tmp_path_factory.mktemp("contest-store"), migrated_store)
    register_version(uri, "champion")
    register_version(uri, "challenger", seed=2)
    return uri


@pytest.fixture(scope="module")
def shadow_server(tmp_path_factory: pytest.TempPathFactory, contest_store: str) -> Iterator[Server]:
    server = ready_server(
        tmp_path_factory.mktemp("shadow"), contest_store, SERVE_CHALLENGER_MODE="shadow", GUNICORN_WORKERS="1"
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def split_server(tmp_path_factory: pytest.TempPathFactory, contest_store: str) -> Iterator[Server]:
    server = ready_server(
        tmp_path_factory.mktemp("split"), contest_store, SERVE_CHALLENGER_MODE="split", SERVE_CHALLENGER_SHARE="0.3"
    )
    yield server
    server.stop()


def predict(server: Server, records: dict | list[dict], client: str | None = None) -> dict:
    headers = {"X-Client-ID": client} if client else {}
    response = requests.post(f"{server.url}/predict", json=records, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def logged(server: Server, request_id: str, rows: int) -> dict[str, list[dict]]:
    """The prediction log's rows for a request by role, in record order, once `rows` of them are written."""

    def read() -> list[dict]:
        page = requests.get(f"{server.url}/predictions?limit=1000", timeout=30).json()["predictions"]
        found = [row for row in page if row["request_id"] == request_id]
        return found if len(found) == rows else []

    found = eventually(read, timeout=10)
    assert found, f"{request_id}: expected {rows} logged rows"
    by_role: dict[str, list[dict]] = {}
    for row in sorted(found, key=lambda row: row["row"]):
        by_role.setdefault(row["role"], []).append(row)
    return by_role


def samples(server: Server, name: str) -> dict[tuple[str, str], float]:
    """A metric's values from /metrics by (model_version, role)."""
    text = requests.get(f"{server.url}/metrics", timeout=30).text
    return {
        (sample.labels["model_version"], sample.labels["role"]): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def feedback(server: Server, request_id: str, row: int, actual: float) -> dict:
    body = {"request_id": request_id, "row": row, "actual_value": actual}
    response = requests.post(f"{server.url}/feedback", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def rmse(errors: list[float]) -> float:
    return math.sqrt(sum(error * error for error in errors) / len(errors))


def reload(server: Server) -> dict:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    return requests.post(f"{server.url}/admin/reload", headers=headers, timeout=60).json()


def test_shadow_logs_the_challengers_predictions_and_returns_only_the_champions(shadow_server):
    body = predict(shadow_server, RECORDS)

    rows = logged(shadow_server, body["request_id"], rows=2 * len(RECORDS))
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
    counted = samples(shadow_server, "housing_predictions_total")
    assert counted[("1", "champion")] >= len(RECORDS)
    assert counted[("2", "shadow")] >= len(RECORDS)


def test_shadow_rows_get_live_errors_and_feedback_answers_about_the_returned_row(shadow_server):
    body = predict(shadow_server, RECORDS)
    rows = logged(shadow_server, body["request_id"], rows=2 * len(RECORDS))
    actual = [300_000.0, 150_000.0, 420_000.0]

    answers = [feedback(shadow_server, body["request_id"], row, value) for row, value in enumerate(actual)]

    returned = [prediction["median_house_value"] for prediction in body["predictions"]]
    assert [(answer["model_version"], answer["role"]) for answer in answers] == [(1, "champion")] * 3
    assert [answer["prediction"] for answer in answers] == pytest.approx(returned, abs=0.01)
    errors = {
        role: [row["prediction"] - value for row, value in zip(rows[role], actual, strict=True)]
        for role in ("champion", "shadow")
    }
    live_rmse = samples(shadow_server, "housing_live_rmse_dollars")
    assert live_rmse[("1", "champion")] == pytest.approx(rmse(errors["champion"]), rel=1e-6)
    assert live_rmse[("2", "shadow")] == pytest.approx(rmse(errors["shadow"]), rel=1e-6)
    assert samples(shadow_server, "housing_live_feedback_count") == {("1", "champion"): 3, ("2", "shadow"): 3}


def test_split_gives_the_challenger_its_share_of_clients_and_each_client_keeps_its_model(split_server):
    clients = [f"client-{number}" for number in range(400)]

    first = {client: predict(split_server, RECORD, client)["model"] for client in clients}

    share = sum(model == CHALLENGER for model in first.values()) / len(clients)
    assert 0.2 <= share <= 0.4, share  # binomial sd at 400 clients is 0.023: ±0.1 is over 4 sd
    assert all(model in (CHAMPION, CHALLENGER) for model in first.values())
    for _ in range(2):
        assert {client: predict(split_server, RECORD, client)["model"] for client in clients[:100]} == {
            client: first[client] for client in clients[:100]
        }


def test_a_client_without_an_id_is_split_by_its_address(split_server):
    models = [predict(split_server, RECORD)["model"] for _ in range(10)]

    assert models == [predict(split_server, RECORD, client="127.0.0.1")["model"]] * 10


def test_split_feedback_gives_live_errors_for_both_versions(split_server):
    by_model = {}
    for number in range(100):
        body = predict(split_server, RECORD, f"feedback-{number}")
        by_model.setdefault(body["model"]["alias"], body)
        if len(by_model) == 2:
            break
    assert set(by_model) == {"champion", "challenger"}

    answers = {alias: feedback(split_server, body["request_id"], 0, 250_000.0) for alias, body in by_model.items()}

    for alias, body in by_model.items():
        rows = logged(split_server, body["request_id"], rows=1)
        assert list(rows) == [alias]
        assert (answers[alias]["model_version"], answers[alias]["role"]) == (body["model"]["version"], alias)
        error = body["predictions"][0]["median_house_value"] - 250_000.0
        assert answers[alias]["error"] == pytest.approx(error, abs=0.01)
        assert samples(split_server, "housing_live_mae_dollars")[(str(body["model"]["version"]), alias)] == (
            pytest.approx(abs(error), abs=0.01)
        )


def test_an_absent_or_failing_challenger_never_fails_a_request(tmp_path, migrated_store):
    store = fresh_store(tmp_path / "store", migrated_store)
    register_version(store, "champion")
    one_worker = {"GUNICORN_WORKERS": "1"}
    shadow = ready_server(tmp_path / "shadow", store, SERVE_CHALLENGER_MODE="shadow", **one_worker)
    split = ready_server(
        tmp_path / "split", store, SERVE_CHALLENGER_MODE="split", SERVE_CHALLENGER_SHARE="1", **one_worker
    )
    try:
        for server in (shadow, split):
            assert requests.get(f"{server.url}/ready", timeout=5).json()["model"] == CHAMPION
            assert predict(server, RECORD, "someone")["model"] == CHAMPION

        register_version(store, "challenger", failing=True)

        for server in (shadow, split):
            assert reload(server)["challenger"] == CHALLENGER
            bodies = [predict(server, RECORDS, f"client-{number}") for number in range(5)]
            assert [body["model"] for body in bodies] == [CHAMPION] * 5
            for body in bodies:
                assert list(logged(server, body["request_id"], rows=len(RECORDS))) == ["champion"]
        assert eventually(lambda: "shadow v2 failed" in shadow.logs(), timeout=10)
        assert "challenger v2 failed; the champion answers" in split.logs()
    finally:
        shadow.stop()
        split.stop()


def test_promote_hands_the_champion_alias_to_the_challenger_of_a_running_server(tmp_path, contest_store):
    database = tmp_path / "store" / "mlflow.db"  # a copy: the registry changes here; artifacts stay shared
    database.parent.mkdir()
    shutil.copy(contest_store.removeprefix("sqlite:///"), database)
    store = f"sqlite:///{database}"
    server = ready_server(tmp_path / "server", store, SERVE_CHALLENGER_MODE="split", SERVE_CHALLENGER_SHARE="0.5")
    clients = [f"client-{number}" for number in range(20)]
    try:
        assert {predict(server, RECORD, client)["model"]["alias"] for client in clients} == {"champion", "challenger"}

        promoted = run_stage(PROJECT, "promote", env={"MLFLOW_TRACKING_URI": store})
        assert promoted.returncode == 0, promoted.stderr
        answer = reload(server)

        assert answer["model"] == {**CHAMPION, "version": 2}
        assert answer["challenger"] is None

        def only_the_new_champion_answers() -> bool:
            return all(predict(server, RECORD, client)["model"] == {**CHAMPION, "version": 2} for client in clients)

        assert eventually(only_the_new_champion_answers, timeout=30), server.logs()
    finally:
        server.stop()
