"""The prediction log on its own: retention, a clean close that writes everything queued, roles and the
upgrade of a log written before roles existed."""

from __future__ import annotations

import math
import multiprocessing
import multiprocessing.synchronize
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from serve.prediction_log import SCHEMA, LiveError, PredictionLog


def test_rows_older_than_the_retention_are_deleted_and_new_ones_kept(tmp_path):
    database = tmp_path / "predictions.db"
    old = (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="milliseconds")
    with sqlite3.connect(database) as connection:
        connection.executescript(SCHEMA)
        connection.execute(
            "INSERT INTO predictions (request_id, row, created_at, model_name, model_version, inputs, prediction,"
            " latency_ms) VALUES ('old', 0, ?, 'm', 1, '{}', 1.0, 1.0)",
            (old,),
        )

    log = PredictionLog(database, retention_days=2)
    log.record("new", "m", 1, ['{"a": 1}', '{"a": 2}'], [10.0, 20.0], latency_ms=1.5, role="champion")
    log.close()

    rows = log.recent(limit=10, offset=0)
    assert [(row["request_id"], row["row"], row["prediction"]) for row in rows] == [("new", 1, 20.0), ("new", 0, 10.0)]
    assert rows[0]["inputs"] == {"a": 2}


def test_close_writes_everything_queued(tmp_path):
    log = PredictionLog(tmp_path / "predictions.db", retention_days=30)
    for request in range(500):
        log.record(f"r{request}", "m", 1, ["{}"], [1.0], latency_ms=1.0, role="champion")

    log.close()

    with sqlite3.connect(tmp_path / "predictions.db") as connection:
        assert connection.execute("SELECT COUNT(*) FROM predictions").fetchone()[0] == 500


def test_a_log_without_roles_is_upgraded_and_its_rows_count_as_the_champions(tmp_path):
    database = tmp_path / "predictions.db"
    with sqlite3.connect(database) as connection:
        connection.executescript(SCHEMA.replace(",\n    role TEXT NOT NULL DEFAULT 'champion'", ""))
        connection.execute(
            "INSERT INTO predictions (request_id, row, created_at, model_name, model_version, inputs, prediction,"
            " latency_ms) VALUES ('old', 0, '2020-01-01T00:00:00.000+00:00', 'm', 1, '{}', 100.0, 1.0)"
        )
        assert "role" not in {column[1] for column in connection.execute("PRAGMA table_info(predictions)")}

    log = PredictionLog(database, retention_days=100_000)
    log.record("new", "m", 1, ["{}"], [200.0], latency_ms=1.0, role="champion")
    log.record("new", "m", 2, ["{}"], [260.0], latency_ms=1.0, role="shadow")
    log.close()
    for request_id in ("old", "new"):
        log.record_feedback(request_id, 0, 210.0)

    assert [(row["request_id"], row["role"]) for row in log.recent(10, 0)] == [
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


def _open_and_close(path: str, start: multiprocessing.synchronize.Barrier) -> None:
    start.wait()
    PredictionLog(Path(path), retention_days=30).close()


def test_workers_starting_together_all_open_a_new_log(tmp_path):
    """Gunicorn boots its workers at once; each creates the log. None may fail with 'database is locked'."""
    context = multiprocessing.get_context("fork")
    for attempt in range(30):
        start = context.Barrier(6)
        path = tmp_path / f"attempt{attempt}" / "predictions.db"
        workers = [context.Process(target=_open_and_close, args=(str(path), start)) for _ in range(6)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)

        assert [worker.exitcode for worker in workers] == [0] * 6


def test_a_version_whose_feedback_left_the_window_is_reported_unmeasured(tmp_path):
    log = PredictionLog(tmp_path / "predictions.db", retention_days=30)
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
