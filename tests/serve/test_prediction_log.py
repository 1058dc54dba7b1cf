"""The prediction log on its own, on SQLite and on a real PostgreSQL: retention, a clean close that writes
everything queued, roles, live errors, workers creating it together; and the upgrade of an SQLite log
written before roles existed."""

from __future__ import annotations

import math
import multiprocessing
import multiprocessing.synchronize
import os
import pwd
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from serve import history
from serve.history import HistoryFilters
from serve.prediction_log import PREDICTIONS, LiveError, PredictionLog, create, engine, lock_beside
from tests.support.project import in_forked_child


def logged_rows(location: str) -> int:
    with engine(location).connect() as connection:
        return connection.execute(select(func.count()).select_from(PREDICTIONS)).scalar_one()


def test_rows_older_than_the_retention_are_deleted_and_new_ones_kept(location):
    old = (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="milliseconds")
    create(location)
    with engine(location).begin() as connection:
        row = {"request_id": "old", "row": 0, "created_at": old, "model_name": "m", "model_version": 1}
        connection.execute(PREDICTIONS.insert(), {**row, "inputs": "{}", "prediction": 1.0, "latency_ms": 1.0})

    log = PredictionLog(location, retention_days=2)
    log.record("new", "m", 1, ['{"a": 1}', '{"a": 2}'], [10.0, 20.0], latency_ms=1.5, role="champion")
    log.close()

    _, rows = history.page(location, HistoryFilters(), limit=10, offset=0)
    assert [(row["request_id"], row["row"], row["prediction"]) for row in rows] == [("new", 1, 20.0), ("new", 0, 10.0)]
    assert rows[0]["inputs"] == {"a": 2}


def test_close_writes_everything_queued(location):
    log = PredictionLog(location, retention_days=30)
    for request in range(500):
        log.record(f"r{request}", "m", 1, ["{}"], [1.0], latency_ms=1.0, role="champion")

    log.close()

    assert logged_rows(location) == 500


def test_each_roles_rows_are_paged_and_a_report_scores_every_row_of_its_record(location: str):
    log = PredictionLog(location, retention_days=100_000)
    log.record("old", "m", 1, ["{}"], [100.0], latency_ms=1.0, role="champion")
    log.record("new", "m", 1, ["{}"], [200.0], latency_ms=1.0, role="champion")
    log.record("new", "m", 2, ["{}"], [260.0], latency_ms=1.0, role="shadow")
    log.close()
    for request_id in ("old", "new"):
        log.record_feedback(request_id, 0, 210.0)

    assert [(row["request_id"], row["role"]) for row in history.page(location, HistoryFilters(), 10, 0)[1]] == [
        ("new", "shadow"),
        ("new", "champion"),
        ("old", "champion"),
    ]
    assert log.prediction("new", 0)["model_version"] == 1
    champion_rmse = math.sqrt((110**2 + 10**2) / 2)
    assert sorted(log.live_errors(window=10)) == [
        LiveError(model_version=1, role="champion", count=2, rmse=pytest.approx(champion_rmse), mae=pytest.approx(60)),
        LiveError(model_version=2, role="shadow", count=1, rmse=pytest.approx(50), mae=pytest.approx(50)),
    ]


def _open_and_close(location: str, start: multiprocessing.synchronize.Barrier) -> None:
    start.wait()
    PredictionLog(location, retention_days=30).close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_workers_starting_together_all_open_a_new_log(tmp_path, request, backend):
    """Gunicorn boots its workers at once; each creates the log. None may fail ('database is locked' on
    SQLite, a duplicate table on PostgreSQL)."""
    context = multiprocessing.get_context("fork")
    for attempt in range(30 if backend == "sqlite" else 5):
        start = context.Barrier(6)
        if backend == "sqlite":
            location = str(tmp_path / f"attempt{attempt}" / "predictions.db")
        else:
            postgres, name = request.getfixturevalue("postgres"), f"together_{attempt}_{time.monotonic_ns()}"
            postgres.create_database(name)
            location = postgres.url(name)
        workers = [context.Process(target=_open_and_close, args=(location, start)) for _ in range(6)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)

        assert [worker.exitcode for worker in workers] == [0] * 6


def test_a_version_whose_feedback_left_the_window_is_reported_unmeasured(location):
    log = PredictionLog(location, retention_days=30)
    log.record("old", "m", 1, ["{}"], [100.0], latency_ms=1.0, role="champion")
    log.record("new", "m", 2, ["{}", "{}"], [200.0, 210.0], latency_ms=1.0, role="champion")
    log.close()
    for request_id, row, actual in [("old", 0, 110.0), ("new", 0, 200.0), ("new", 1, 200.0)]:
        time.sleep(0.002)  # feedback is ordered by its millisecond timestamp
        log.record_feedback(request_id, row, actual)

    errors = {(error.model_version, error.role): error for error in log.live_errors(window=2)}

    assert errors[(2, "champion")].count == 2 and errors[(2, "champion")].mae == pytest.approx(5.0)
    assert errors[(1, "champion")].count == 0
    assert math.isnan(errors[(1, "champion")].rmse) and math.isnan(errors[(1, "champion")].mae)


def test_a_later_feedback_report_replaces_an_earlier_one(location):
    log = PredictionLog(location, retention_days=30)
    log.record("r", "m", 3, ["{}"], [100.0], latency_ms=1.0, role="champion")
    log.close()

    log.record_feedback("r", 0, 130.0)
    log.record_feedback("r", 0, 110.0)

    (error,) = log.live_errors(window=10)
    assert error == LiveError(3, "champion", count=1, rmse=pytest.approx(10.0), mae=pytest.approx(10.0))
    assert log.prediction("r", 0)["prediction"] == 100.0 and log.prediction("r", 1) is None


def lock_as_nobody(database: Path) -> str:
    """Take the lock beside `database` as the unprivileged user `nobody` (this forked child drops root)."""
    nobody = pwd.getpwnam("nobody")
    os.setgid(nobody.pw_gid)
    os.setuid(nobody.pw_uid)
    with lock_beside(database):
        return "locked"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to leave a lock file another user cannot write")
def test_a_lock_file_left_by_another_user_does_not_stop_a_server():
    """A server started as root beside a container's unprivileged one: the lock file is root's, 0644.
    (In a folder of its own outside pytest's, which only root may enter.)"""
    folder = Path(tempfile.mkdtemp(prefix="shared-log-"))
    try:
        folder.chmod(0o777)
        with lock_beside(folder / "predictions.db"):
            pass

        assert in_forked_child(lock_as_nobody, folder / "predictions.db") == "locked"
    finally:
        shutil.rmtree(folder)
