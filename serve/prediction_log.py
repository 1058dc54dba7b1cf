"""The prediction log: every served prediction, one row each, written off the request path.

`SERVE_PREDICTION_DB` says where: a file path is an SQLite file (the default, `predictions.db`), and
an SQLAlchemy URL any database SQLAlchemy reaches; `postgresql+psycopg://user@host/db` gives every
replica behind a load balancer the same log, so a feedback report may reach any of them.

Requests only put rows on a queue; one writer thread per process commits them in batches, gathering
for up to BATCH_SECONDS after the first row (a commit per request put the writer's share of the GIL
and the database's lock on the request path: bench/results/profile.json has the log's share of a
request as it is now). An SQLite file is in WAL mode, so every gunicorn worker writes to it while
readers keep reading. `close()` drains the queue, so a clean shutdown loses nothing. A feedback
report may come right after its response, to any worker or replica, before the row is written:
`served_prediction` waits for it.

Each row says which role produced it: the champion or the challenger answered the client, or the
challenger predicted in the shadow of a champion answer (never returned).

The log also keeps the latest refusals and failures (every 4xx and 5xx answer, `errors`), for the
dashboard's System page: every worker and replica writes them here, so any of them lists them all.
They go through the same queue and writer, so a request never waits for them and a failure to store
one is logged, never answered; only the newest KEPT_ERRORS rows are kept.
"""

from __future__ import annotations

import fcntl
import functools
import json
import logging
import math
import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, NamedTuple

from sqlalchemy import (
    Column,
    ColumnElement,
    Double,
    Engine,
    FromClause,
    Index,
    Integer,
    Label,
    MetaData,
    Table,
    Text,
    and_,
    create_engine,
    delete,
    event,
    func,
    inspect,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping, make_url
from sqlalchemy.exc import SQLAlchemyError

Role = Literal["champion", "challenger", "shadow"]
"""Who produced a prediction: the champion or the challenger answered it, or the challenger predicted
in the shadow of the champion's answer (logged, never returned)."""

metadata = MetaData()
PREDICTIONS = Table(
    "predictions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("request_id", Text, nullable=False),
    Column("row", Integer, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("model_name", Text, nullable=False),
    Column("model_version", Integer, nullable=False),
    Column("inputs", Text, nullable=False),
    Column("prediction", Double, nullable=False),
    Column("latency_ms", Double, nullable=False),
    Column("role", Text, nullable=False, server_default="champion"),
    Index("predictions_created_at", "created_at"),
    Index("predictions_request_id", "request_id"),
    sqlite_autoincrement=True,
)
FEEDBACK = Table(
    "feedback",
    metadata,
    Column("request_id", Text, primary_key=True),
    Column("row", Integer, primary_key=True),
    Column("actual", Double, nullable=False),
    Column("created_at", Text, nullable=False),
)
ERRORS = Table(
    "errors",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", Text, nullable=False),
    Column("request_id", Text, nullable=False),
    Column("method", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("status", Integer, nullable=False),
    Column("error", Text, nullable=False),
    Column("details", Text, nullable=False),
    sqlite_autoincrement=True,
)
KEPT_ERRORS = 1000
"""Error answers the log keeps (the newest): enough for an afternoon's scanner of 404s, bounded."""
PURGE_EVERY_S = 3600
BATCH_SECONDS = 0.05
WAIT_POLL_SECONDS = 0.02
"""How often a wait for another process's row reads the log (other writers commit every BATCH_SECONDS)."""
SCHEMA_LOCK = 7_337_001
"""PostgreSQL advisory lock id under which one process at a time creates or upgrades the tables."""

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


class QueuedError(NamedTuple):
    """One error answer on its way to the errors table (`details`: its body's details as `field: message; ...`)."""

    created_at: str
    request_id: str
    method: str
    path: str
    status: int
    error: str
    details: str


@dataclass(frozen=True, order=True, slots=True)
class LiveError:
    """Live accuracy of one model version in one role, in dollars, over the latest feedback.

    A dataclass, not a NamedTuple: a tuple's field `count` would hide tuple.count."""

    model_version: int
    role: str
    count: int
    rmse: float
    mae: float


def timestamp(moment: datetime) -> str:
    """A moment as created_at holds it: UTC ISO 8601 to the millisecond, so text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def database_url(location: str | Path) -> str:
    """SERVE_PREDICTION_DB as an SQLAlchemy URL: a URL as it is, a file path as an absolute SQLite file."""
    location = str(location)
    return location if "://" in location else f"sqlite:///{Path(location).resolve()}"


def sqlite_file(location: str | Path) -> Path | None:
    """The SQLite file the log is in, or None for another database."""
    url = make_url(database_url(location))
    return Path(url.database) if url.get_backend_name() == "sqlite" and url.database else None


@functools.cache
def engine(location: str | Path) -> Engine:
    """One engine per database and process. SQLite waits up to 30 s for another writer."""
    url = database_url(location)
    if sqlite_file(location) is None:
        return create_engine(url, pool_pre_ping=True)
    created = create_engine(url, connect_args={"timeout": 30})
    event.listen(created, "connect", lambda connection, _: connection.execute("PRAGMA synchronous=NORMAL"))
    return created


def exists(location: str | Path) -> bool:
    """Whether the log has been created: a server has logged (or opened the log) there."""
    path = sqlite_file(location)
    return path.is_file() if path else inspect(engine(location)).has_table("predictions")


def create(location: str | Path) -> None:
    """Create the tables, once for all workers and replicas.

    Gunicorn starts its workers together: on SQLite a file lock makes them take turns (SQLite answers
    "database is locked" at once, without waiting, to a change of journal mode that races another),
    on PostgreSQL an advisory lock.
    """
    with _schema_lock(location), engine(location).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(select(func.pg_advisory_xact_lock(SCHEMA_LOCK)))
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        metadata.create_all(connection)


@contextmanager
def _schema_lock(location: str | Path) -> Iterator[None]:
    path = sqlite_file(location)
    if path is None:
        yield
        return
    with lock_beside(path):
        yield


@contextmanager
def lock_beside(database: Path) -> Iterator[None]:
    """Hold an exclusive lock on `<database>.lock` (waiting for it): one process at a time of every
    worker and replica on this host creates or upgrades the database file's schema."""
    database.parent.mkdir(parents=True, exist_ok=True)
    # Read-only: flock needs no more, and a lock file another user created (a server started as root
    # beside a container's unprivileged one) must not stop this process.
    descriptor = os.open(database.with_name(database.name + ".lock"), os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def read(location: str | Path, query: Any, parameters: dict[str, Any] | None = None) -> list[RowMapping]:
    """Rows of a read-only query, by column name; any process may read while the servers write."""
    with engine(location).connect() as connection:
        return list(connection.execute(query, parameters or {}).mappings())


def same_record(feedback: FromClause) -> ColumnElement[bool]:
    """Joins a feedback report (a row of `feedback`: the table or a selection of it) to every prediction
    logged for its record, so a shadow's prediction of it is scored too."""
    return and_(PREDICTIONS.c.request_id == feedback.c.request_id, PREDICTIONS.c.row == feedback.c.row)


def scores(feedback: FromClause) -> list[Label[Any]]:
    """Per group of predictions joined to `feedback`: how many, their mean squared and mean absolute error."""
    error = PREDICTIONS.c.prediction - feedback.c.actual
    return [func.count().label("count"), func.avg(error * error).label("mse"), func.avg(func.abs(error)).label("mae")]


def live_errors(location: str | Path, window: int) -> list[LiveError]:
    """Live errors per model version and role over the `window` latest feedback reports.

    A version and role with feedback in the log but none in the window comes back with count 0 and NaN
    errors: its gauges must say "not measured now" rather than keep the last figure some worker set.
    """
    latest = select(FEEDBACK).order_by(FEEDBACK.c.created_at.desc()).limit(window).subquery()
    label = [PREDICTIONS.c.model_version, PREDICTIONS.c.role]
    in_window = (
        select(*label, *scores(latest)).select_from(PREDICTIONS.join(latest, same_record(latest))).group_by(*label)
    )
    ever_scored = select(*label).distinct().select_from(PREDICTIONS.join(FEEDBACK, same_record(FEEDBACK)))
    with engine(location).connect() as connection:
        rows = connection.execute(in_window).all()
        labels = connection.execute(ever_scored).all()
    errors = [LiveError(version, role, count, math.sqrt(mse), mae) for version, role, count, mse, mae in rows]
    measured = {(error.model_version, error.role) for error in errors}
    unmeasured = [(version, role) for version, role in labels if (version, role) not in measured]
    return errors + [LiveError(version, role, 0, math.nan, math.nan) for version, role in unmeasured]


def served_inputs(location: str | Path, limit: int) -> list[dict]:
    """The inputs of the `limit` latest records answered to clients (shadow rows repeat them), newest first."""
    query = (
        PREDICTIONS.select()
        .with_only_columns(PREDICTIONS.c.inputs)
        .where(PREDICTIONS.c.role != "shadow")
        .order_by(PREDICTIONS.c.id.desc())
        .limit(limit)
    )
    return [json.loads(row["inputs"]) for row in read(location, query)]


QueueEntry = list[QueuedPrediction] | QueuedError | threading.Event | None
"""A request's rows; an error answer; an event the writer sets once everything queued before it is
committed; or close()."""


class PredictionLog:
    def __init__(self, location: str | Path, retention_days: float, kept_errors: int = KEPT_ERRORS):
        self.location = location
        self.retention = timedelta(days=retention_days)
        self.kept_errors = kept_errors
        create(location)
        self._queue: queue.Queue[QueueEntry] = queue.Queue()
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
        now = timestamp(datetime.now(UTC))
        self._queue.put(
            [
                QueuedPrediction(request_id, index, now, model_name, model_version, row, float(value), latency_ms, role)
                for index, (row, value) in enumerate(zip(rows, predictions, strict=True))
            ]
        )

    def record_error(self, error: QueuedError) -> None:
        """Queue an error answer for the errors table; returns at once."""
        self._queue.put(error)

    def recent_errors(self, limit: int) -> list[RowMapping]:
        """The `limit` newest error answers of every worker and replica, newest first."""
        return read(self.location, ERRORS.select().order_by(ERRORS.c.id.desc()).limit(limit))

    def prediction(self, request_id: str, row: int) -> RowMapping | None:
        """The prediction returned to the client for one record of a request (not a shadow's), or None."""
        columns = PREDICTIONS.c
        query = PREDICTIONS.select().where(
            columns.request_id == request_id, columns.row == row, columns.role != "shadow"
        )
        rows = read(self.location, query)
        return rows[0] if rows else None

    def served_prediction(self, request_id: str, row: int, wait_seconds: float) -> RowMapping | None:
        """`prediction`, waiting up to `wait_seconds` for its row: a feedback report may arrive right after
        the response, while the row is still queued here or in another worker or replica.

        This process's queue is written at once; another writer's row is polled for until it commits.
        """
        deadline = time.monotonic() + wait_seconds
        self.flush(wait_seconds)
        while (found := self.prediction(request_id, row)) is None and time.monotonic() < deadline:
            time.sleep(WAIT_POLL_SECONDS)
        return found

    def flush(self, timeout: float) -> None:
        """Wait until every row queued so far is committed, or `timeout` passes (a closed log has none)."""
        if self._writer.is_alive():
            written = threading.Event()
            self._queue.put(written)
            written.wait(timeout)

    def record_feedback(self, request_id: str, row: int, actual: float) -> None:
        """Store the observed value for a served prediction (a later report replaces an earlier one)."""
        now = timestamp(datetime.now(UTC))
        with engine(self.location).begin() as connection:
            dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
            report = dialect.insert(FEEDBACK).values(request_id=request_id, row=row, actual=actual, created_at=now)
            replace = {"actual": report.excluded.actual, "created_at": report.excluded.created_at}
            connection.execute(report.on_conflict_do_update(index_elements=["request_id", "row"], set_=replace))

    def live_errors(self, window: int) -> list[LiveError]:
        return live_errors(self.location, window)

    def served_inputs(self, limit: int) -> list[dict]:
        return served_inputs(self.location, limit)

    def close(self) -> None:
        """Write everything queued, then stop the writer."""
        if self._writer.is_alive():
            self._queue.put(None)
            self._writer.join()

    def _write_forever(self) -> None:
        self._purge()
        purged_at = time.monotonic()  # monotonic counts from boot: only differences of readings mean anything
        while True:
            batch = self._next_batch()
            rows = [row for entry in batch if isinstance(entry, list) for row in entry]
            if rows:
                self._insert(rows)
            errors = [entry for entry in batch if isinstance(entry, QueuedError)]
            if errors:
                self._insert_errors(errors)
            for entry in batch:
                if isinstance(entry, threading.Event):
                    entry.set()
            if time.monotonic() - purged_at > PURGE_EVERY_S:
                self._purge()
                purged_at = time.monotonic()
            if None in batch:
                return

    def _next_batch(self) -> list[QueueEntry]:
        """What requests queued: wait for one entry, then take more for BATCH_SECONDS, until a flush (someone
        waits for the rows) or until close()."""
        batch = [self._queue.get()]
        deadline = time.monotonic() + BATCH_SECONDS
        while isinstance(batch[-1], list | QueuedError) and (left := deadline - time.monotonic()) > 0:
            try:
                batch.append(self._queue.get(timeout=left))
            except queue.Empty:
                break
        return batch

    def _insert(self, rows: list[QueuedPrediction]) -> None:
        try:
            with engine(self.location).begin() as connection:
                connection.execute(PREDICTIONS.insert(), [row._asdict() for row in rows])
        except SQLAlchemyError:
            log.exception("could not log %d predictions to %s", len(rows), self.location)

    def _insert_errors(self, errors: list[QueuedError]) -> None:
        """Store error answers and drop all but the newest `kept_errors`, in one transaction."""
        kept = select(ERRORS.c.id).order_by(ERRORS.c.id.desc()).limit(self.kept_errors)
        try:
            with engine(self.location).begin() as connection:
                connection.execute(ERRORS.insert(), [error._asdict() for error in errors])
                connection.execute(delete(ERRORS).where(ERRORS.c.id.not_in(kept)))
        except SQLAlchemyError:
            log.exception("could not log %d error answers to %s", len(errors), self.location)

    def _purge(self) -> None:
        """Delete rows older than the retention; a failure is logged and retried at the next purge."""
        cutoff = timestamp(datetime.now(UTC) - self.retention)
        try:
            with engine(self.location).begin() as connection:
                connection.execute(delete(PREDICTIONS).where(PREDICTIONS.c.created_at < cutoff))
        except SQLAlchemyError:
            log.exception("could not delete predictions older than %s from %s", cutoff, self.location)
