"""The prediction log on its own: retention, and a clean close that writes everything queued."""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from serve.prediction_log import SCHEMA, PredictionLog


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
    log.record("new", "m", 1, ['{"a": 1}', '{"a": 2}'], [10.0, 20.0], latency_ms=1.5)
    log.close()

    rows = log.recent(limit=10, offset=0)
    assert [(row["request_id"], row["row"], row["prediction"]) for row in rows] == [("new", 1, 20.0), ("new", 0, 10.0)]
    assert rows[0]["inputs"] == {"a": 2}


def test_close_writes_everything_queued(tmp_path):
    log = PredictionLog(tmp_path / "predictions.db", retention_days=30)
    for request in range(500):
        log.record(f"r{request}", "m", 1, ["{}"], [1.0], latency_ms=1.0)

    log.close()

    with sqlite3.connect(tmp_path / "predictions.db") as connection:
        assert connection.execute("SELECT COUNT(*) FROM predictions").fetchone()[0] == 500


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
