"""`create_store`: every worker calls it before its first use of MLflow's tracking store, so that of
several processes starting together on no store, exactly one creates it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlflow.tracking import MlflowClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from serve.prediction_log import lock_beside

STORE_LOCK = 7_337_002
"""PostgreSQL advisory lock id under which one process at a time creates MLflow's store."""


def create_store(tracking_uri: str) -> None:
    """Create an MLflow database store that does not exist yet, one process at a time.

    MLflow creates a missing SQL store when a client first opens it, and migrates its schema with no
    lock of its own: gunicorn's workers, and replicas sharing the database, starting together on no
    store run that migration at once, and the losers fail to boot ("duplicate column name"). Under a
    lock (a file beside an SQLite store, an advisory lock on PostgreSQL) the first one creates it and
    the others find it there. Other stores (a tracking server, files) are left as they were.
    """
    backend = make_url(tracking_uri).get_backend_name() if tracking_uri.startswith(("sqlite:", "postgresql")) else None
    if backend == "sqlite":
        database = make_url(tracking_uri).database
        if database and database != ":memory:":
            with lock_beside(Path(database)):
                _open_store(tracking_uri)
    elif backend == "postgresql":
        with _advisory_lock(tracking_uri):
            _open_store(tracking_uri)


def _open_store(tracking_uri: str) -> None:
    MlflowClient(tracking_uri, tracking_uri).search_registered_models(max_results=1)


@contextmanager
def _advisory_lock(database_url: str) -> Iterator[None]:
    """PostgreSQL's session lock STORE_LOCK, held on a connection of its own while the block runs."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:lock)"), {"lock": STORE_LOCK})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:lock)"), {"lock": STORE_LOCK})
    finally:
        engine.dispose()
