"""`make serve` before any training run: the MLflow store does not exist yet, and every worker of every
replica reaches for it at once. Exactly one creates it; all of them serve, say why they are not ready,
and pick up the champion once one is registered. For an SQLite file and for an empty PostgreSQL database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
import requests
import sqlalchemy

from tests.support.processes import eventually
from tests.support.serving import RECORD, Server, register_version, start_server

pytestmark = pytest.mark.slow

WORKERS = 4
CREATING = "Creating initial MLflow database tables"
"""What MLflow logs when it creates a store."""
NO_CHAMPION = "cannot load models:/california-housing@champion: MlflowException: Registered Model with name="


def schema_revision(store: str) -> str:
    engine = sqlalchemy.create_engine(store)
    try:
        with engine.connect() as connection:
            return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URI of an MLflow store nobody has opened yet."""
    if request.param == "sqlite":
        (tmp_path / "store").mkdir()
        return f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    postgres = request.getfixturevalue("postgres")
    name = f"empty_store_{tmp_path.name.lower().replace('-', '_')}"
    postgres.create_database(name)
    return postgres.url(name, "psycopg2")


def workers(server: Server) -> set[int]:
    return {child.pid for child in psutil.Process(server.process.pid).children()}


def problems(server: Server) -> list[str]:
    """What the workers' watchers reported (each reports a problem once, when it first meets it)."""
    return [line for line in server.logs().splitlines() if line.startswith("cannot ")]


def every_worker_has_reported(server: Server) -> bool:
    return len(problems(server)) >= WORKERS


def test_replicas_of_several_workers_start_on_an_empty_store_and_wait_for_a_champion(
    tmp_path: Path, migrated_store: Path, empty_store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = empty_store
    monkeypatch.chdir(tmp_path)  # a PostgreSQL store's artifacts go to ./mlruns
    with ThreadPoolExecutor(2) as starting:  # both replicas boot at the same time
        booting = [
            starting.submit(start_server, tmp_path / name, store, GUNICORN_WORKERS=str(WORKERS)) for name in "ab"
        ]
    replicas = [replica.result() for replica in booting if replica.exception() is None]
    try:
        assert len(replicas) == 2, [str(replica.exception()) for replica in booting]
        for replica in replicas:
            assert eventually(lambda replica=replica: every_worker_has_reported(replica), timeout=90), replica.logs()
            assert all(problem.startswith(NO_CHAMPION) for problem in problems(replica)), replica.logs()
            assert len(workers(replica)) == WORKERS and replica.process.poll() is None, replica.logs()
            assert "Exception in worker process" not in replica.logs(), replica.logs()
            assert requests.get(f"{replica.url}/health", timeout=5).ok
            readiness = [requests.get(f"{replica.url}/ready", timeout=5) for _ in range(2 * WORKERS)]
            assert {answer.status_code for answer in readiness} == {503}
            assert all("champion" in answer.json()["problem"] for answer in readiness)
        assert sum(replica.logs().count(CREATING) for replica in replicas) == 1
        assert schema_revision(store) == schema_revision(f"sqlite:///{migrated_store}")

        register_version(store)

        for replica in replicas:

            def every_worker_predicts(url: str = replica.url) -> bool:
                return all(requests.post(f"{url}/predict", json=RECORD, timeout=5).ok for _ in range(2 * WORKERS))

            assert eventually(every_worker_predicts, timeout=60), replica.logs()
    finally:
        for replica in replicas:
            replica.stop()
