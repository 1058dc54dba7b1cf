"""The prediction log: every served prediction, one SQLite row each, written off the request path.

Requests only put rows on a queue; one writer thread per process commits them in batches, gathering
for up to BATCH_SECONDS after the first row (a commit per request would cost the request path a
tenth of its time in the writer's share of the GIL and the file lock). SQLite in
WAL mode lets every gunicorn worker write to the same file while readers keep reading. `close()`
drains the queue, so a clean shutdown loses nothing.

Each row says which role produced it: the champion or the challenger answered the client, or the
challenger predicted in the shadow of a champion answer (never returned). A log written before roles
existed gets the column on open; its rows were all the champion's.
"""

from __future__ import annotations

import fcntl
import json
import logging
import math
import queue
import sqlite3
import threading
import time
from collections.abc import Iterable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

SCHEMA = """
CREATE TABLE IF NOT EXISTS predictions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL,
    row INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    model_name TEXT NOT NULL,
    model_version INTEGER NOT NULL,
    inputs TEXT NOT NULL,
    prediction REAL NOT NULL,
    latency_ms REAL NOT NULL,
    role TEXT NOT NULL DEFAULT 'champion'
);
CREATE INDEX IF NOT EXISTS predictions_created_at ON predictions (created_at);
CREATE INDEX IF NOT EXISTS predictions_request_id ON predictions (request_id);
CREATE TABLE IF NOT EXISTS feedback (
    request_id TEXT NOT NULL,
    row INTEGER NOT NULL,
    actual REAL NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (request_id, row)
);
"""
ADD_ROLE = "ALTER TABLE predictions ADD COLUMN role TEXT NOT NULL DEFAULT 'champion'"
LIVE_ERRORS = """
SELECT p.model_version, p.role, COUNT(*), AVG((p.prediction - f.actual) * (p.prediction - f.actual)),
       AVG(ABS(p.prediction - f.actual))
FROM (SELECT * FROM feedback ORDER BY created_at DESC LIMIT ?) AS f
JOIN predictions AS p ON p.request_id = f.request_id AND p.row = f.row
GROUP BY p.model_version, p.role
"""
SCORED_LABELS = """
SELECT DISTINCT p.model_version, p.role
FROM feedback AS f JOIN predictions AS p ON p.request_id = f.request_id AND p.row = f.row
"""
PURGE_EVERY_S = 3600
BATCH_SECONDS = 0.05
INSERT = (
    "INSERT INTO predictions"
    " (request_id, row, created_at, model_name, model_version, inputs, prediction, latency_ms, role)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

log = logging.getLogger(__name__)


class QueuedPrediction(NamedTuple):
    """One row on its way to the predictions table."""

    request_id: str
    row: int
    created_at: str
    model_name: str
    model_version: int
    inputs: str
    prediction: float
    latency_ms: float
    role: str


class LiveError(NamedTuple):
    """Live accuracy of one model version in one role, in dollars, over the latest feedback."""

    model_version: int
    role: str
    count: int
    rmse: float
    mae: float


def connect(path: Path) -> sqlite3.Connection:
    """A connection that waits up to 30 s for another writer (the file is in WAL mode: see create)."""
    connection = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def create(path: Path) -> None:
    """Create the tables (or add the role column an older log lacks) and switch the file to WAL mode,
    once for all workers.

    Gunicorn starts its workers together, and SQLite answers "database is locked" at once, without
    waiting, to a change of journal mode that races another; a file lock makes them take turns.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with closing(connect(path)) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(SCHEMA)
            columns = {column[1] for column in connection.execute("PRAGMA table_info(predictions)")}
            if "role" not in columns:
                connection.execute(ADD_ROLE)


def read(path: Path, sql: str, parameters: tuple) -> list[sqlite3.Row]:
    """Rows of a read-only query; any process may read while the servers write (WAL)."""
    with closing(connect(path)) as connection:
        connection.row_factory = sqlite3.Row
        return connection.execute(sql, parameters).fetchall()


def live_errors(path: Path, window: int) -> list[LiveError]:
    """Live errors per model version and role over the `window` latest feedback reports.

    A report joins every row logged for its record, so a shadow's prediction is scored too. A version
    and role with feedback in the log but none in the window comes back with count 0 and NaN errors:
    its gauges must say "not measured now" rather than keep the last figure some worker set.
    """
    rows = read(path, LIVE_ERRORS, (window,))
    errors = [LiveError(version, role, count, math.sqrt(mse), mae) for version, role, count, mse, mae in rows]
    measured = {(error.model_version, error.role) for error in errors}
    unmeasured = [tuple(label) for label in read(path, SCORED_LABELS, ()) if tuple(label) not in measured]
    return errors + [LiveError(version, role, 0, math.nan, math.nan) for version, role in unmeasured]


def served_inputs(path: Path, limit: int) -> list[dict]:
    """The inputs of the `limit` latest records answered to clients (shadow rows repeat them), newest first."""
    rows = read(path, "SELECT inputs FROM predictions WHERE role != 'shadow' ORDER BY id DESC LIMIT ?", (limit,))
    return [json.loads(row["inputs"]) for row in rows]


class PredictionLog:
    def __init__(self, path: Path, retention_days: float):
        self.path = path
        self.retention = timedelta(days=retention_days)
        create(path)
        self._queue: queue.Queue[list[QueuedPrediction] | None] = queue.Queue()
        self._writer = threading.Thread(target=self._write_forever, name="prediction-log", daemon=True)
        self._writer.start()

    def record(
        self,
        request_id: str,
        model_name: str,
        model_version: int,
        rows: list[str],
        predictions: Iterable[float],
        latency_ms: float,
        *,
        role: str,
    ) -> None:
        """Queue one row per prediction of a request (`rows`: each record's inputs as JSON); returns at once."""
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        self._queue.put(
            [
                QueuedPrediction(request_id, index, now, model_name, model_version, row, float(value), latency_ms, role)
                for index, (row, value) in enumerate(zip(rows, predictions, strict=True))
            ]
        )

    def recent(self, limit: int, offset: int) -> list[dict]:
        """The newest logged predictions first, as plain dicts."""
        rows = read(self.path, "SELECT * FROM predictions ORDER BY id DESC LIMIT ? OFFSET ?", (limit, offset))
        return [{**dict(row), "inputs": json.loads(row["inputs"])} for row in rows]

    def prediction(self, request_id: str, row: int) -> sqlite3.Row | None:
        """The prediction returned to the client for one record of a request (not a shadow's), or None."""
        sql = "SELECT * FROM predictions WHERE request_id = ? AND row = ? AND role != 'shadow'"
        rows = read(self.path, sql, (request_id, row))
        return rows[0] if rows else None

    def record_feedback(self, request_id: str, row: int, actual: float) -> None:
        """Store the observed value for a served prediction (a later report replaces an earlier one)."""
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        with closing(connect(self.path)) as connection:
            connection.execute(
                "INSERT OR REPLACE INTO feedback (request_id, row, actual, created_at) VALUES (?, ?, ?, ?)",
                (request_id, row, actual, now),
            )

    def live_errors(self, window: int) -> list[LiveError]:
        return live_errors(self.path, window)

    def served_inputs(self, limit: int) -> list[dict]:
        return served_inputs(self.path, limit)

    def close(self) -> None:
        """Write everything queued, then stop the writer."""
        if self._writer.is_alive():
            self._queue.put(None)
            self._writer.join()

    def _write_forever(self) -> None:
        connection = connect(self.path)
        self._purge(connection)
        purged_at = time.monotonic()  # monotonic counts from boot: only differences of readings mean anything
        while True:
            batch = self._next_batch()
            rows = [entry for entries in batch if entries is not None for entry in entries]
            if rows:
                self._insert(connection, rows)
            if time.monotonic() - purged_at > PURGE_EVERY_S:
                self._purge(connection)
                purged_at = time.monotonic()
            if None in batch:
                connection.close()
                return

    def _next_batch(self) -> list[list[QueuedPrediction] | None]:
        """What requests queued: wait for one entry, then take more for BATCH_SECONDS or until close()."""
        batch = [self._queue.get()]
        deadline = time.monotonic() + BATCH_SECONDS
        while batch[-1] is not None and (left := deadline - time.monotonic()) > 0:
            try:
                batch.append(self._queue.get(timeout=left))
            except queue.Empty:
                break
        return batch

    def _insert(self, connection: sqlite3.Connection, rows: list[QueuedPrediction]) -> None:
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(INSERT, rows)
            connection.execute("COMMIT")
        except sqlite3.Error:
            log.exception("could not log %d predictions to %s", len(rows), self.path)
            if connection.in_transaction:
                connection.execute("ROLLBACK")

    def _purge(self, connection: sqlite3.Connection) -> None:
        """Delete rows older than the retention; a failure is logged and retried at the next purge."""
        cutoff = (datetime.now(UTC) - self.retention).isoformat(timespec="milliseconds")
        try:
            connection.execute("DELETE FROM predictions WHERE created_at < ?", (cutoff,))
        except sqlite3.Error:
            log.exception("could not delete predictions older than %s from %s", cutoff, self.path)
