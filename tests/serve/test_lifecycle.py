"""The server over time: before a champion exists, under concurrent load, during a reload, at shutdown."""

from __future__ import annotations

import signal
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.processes import eventually
from tests.support.serving import ADMIN_TOKEN, RECORD, register_version, start_server
from tests.support.tracking import fresh_store

pytestmark = pytest.mark.slow


def predict(url: str, session: requests.Session) -> requests.Response:
    return session.post(f"{url}/predict", json=RECORD, timeout=30)


def logged_rows(database) -> int:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT COUNT(*) FROM predictions").fetchone()[0]


def test_ready_waits_for_a_champion_and_the_server_keeps_retrying(tmp_path, migrated_store):
    store = fresh_store(tmp_path / "store", migrated_store)
    server = start_server(tmp_path / "server", store)
    try:
        ready = requests.get(f"{server.url}/ready", timeout=5)
        assert ready.status_code == 503
        assert "champion" in ready.json()["problem"]
        refused = requests.post(f"{server.url}/predict", json=RECORD, timeout=5)
        assert refused.status_code == 503
        assert refused.json()["error"] == "no model loaded"

        register_version(store)

        assert eventually(lambda: requests.get(f"{server.url}/ready", timeout=5).ok), server.logs()

        # each worker loads on its own; within a retry interval or two all of them predict
        def every_worker_predicts() -> bool:
            return all(requests.post(f"{server.url}/predict", json=RECORD, timeout=5).ok for _ in range(6))

        assert eventually(every_worker_predicts), server.logs()
    finally:
        server.stop()


def test_concurrent_requests_log_exactly_one_row_per_prediction(tmp_path, champion_store):
    server = start_server(tmp_path / "server", champion_store)
    try:
        assert eventually(lambda: requests.get(f"{server.url}/ready", timeout=5).ok)

        def client(_: int) -> list[int]:
            with requests.Session() as session:
                return [predict(server.url, session).status_code for _ in range(40)]

        with ThreadPoolExecutor(8) as pool:
            statuses = [status for batch in pool.map(client, range(8)) for status in batch]
    finally:
        server.stop()

    assert statuses.count(200) == len(statuses) == 320
    assert logged_rows(server.prediction_db) == 320


def test_a_new_champion_is_picked_up_under_traffic_with_no_failed_request(tmp_path, migrated_store):
    store = fresh_store(tmp_path / "store", migrated_store)
    register_version(store)
    server = start_server(tmp_path / "server", store, SERVE_POLL_SECONDS="2")
    versions: set[int] = set()
    failures: list[str] = []
    stop = threading.Event()

    def traffic() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                response = predict(server.url, session)
                if response.ok:
                    versions.add(response.json()["model"]["version"])
                else:
                    failures.append(f"{response.status_code} {response.text}")
                stop.wait(0.01)  # steady traffic that leaves the 2-core CI machine room to load the model

    try:
        assert eventually(lambda: requests.get(f"{server.url}/ready", timeout=5).ok)
        clients = [threading.Thread(target=traffic) for _ in range(4)]
        for thread in clients:
            thread.start()
        register_version(store)
        reloaded = requests.post(
            f"{server.url}/admin/reload", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=60
        )
        assert reloaded.json()["model"]["version"] == 2

        def only_version_2_answers() -> bool:
            with requests.Session() as session:
                return {predict(server.url, session).json()["model"]["version"] for _ in range(10)} == {2}

        assert eventually(only_version_2_answers, timeout=30)
        stop.set()
        for thread in clients:
            thread.join()
    finally:
        stop.set()
        server.stop()

    assert failures == []
    assert versions == {1, 2}


@pytest.fixture(params=["sync", "gthread"])
def server_for_class(request, tmp_path, champion_store):
    """A server under each worker class bench/serve compares (sync is the default), ready to predict."""
    server = start_server(tmp_path / "server", champion_store, GUNICORN_WORKER_CLASS=request.param)
    try:
        assert eventually(lambda: requests.get(f"{server.url}/ready", timeout=5).ok)
        yield server
    finally:
        server.stop()


def test_sigterm_with_idle_kept_alive_connections_stops_without_waiting_for_them(server_for_class):
    """Idle kept-alive connections (gthread keeps them) must not hold a stop up until the graceful
    timeout kills the workers."""
    sessions = [requests.Session() for _ in range(4)]
    try:
        assert all(predict(server_for_class.url, session).ok for session in sessions)
        server_for_class.process.send_signal(signal.SIGTERM)
        server_for_class.process.wait(timeout=60)
    finally:
        for session in sessions:
            session.close()

    logs = server_for_class.logs()
    assert server_for_class.process.returncode == 0, logs
    assert "Shutting down: Master" in logs and "SIGKILL" not in logs and "WORKER TIMEOUT" not in logs, logs
