"""Real servers on 127.0.0.1 for the tests that need them: S3 (moto_server), PostgreSQL 15 (initdb and
pg_ctl in a temporary folder) and an MLflow tracking server. Each is a context manager that waits
until the server answers and stops it on the way out."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3
import botocore.exceptions
import sqlalchemy

from tests.support.processes import answers, free_port, running
from tests.support.project import BIN

S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}
POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")
POSTGRES_USER = "housing"


@contextmanager
def s3_server(bucket: str) -> Iterator[str]:
    """A local S3-compatible server (moto) with an empty `bucket`; yields its endpoint URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    s3 = boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=S3_CREDENTIALS["AWS_DEFAULT_REGION"],
    )
    command = [BIN / "moto_server", "-H", "127.0.0.1", "-p", str(port)]
    with running(command, None, lambda: _bucket_created(s3, bucket), 30):
        yield url


def _bucket_created(s3, bucket: str) -> bool:
    try:
        s3.create_bucket(Bucket=bucket)
    except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectionClosedError):
        return False
    return True


def postgres_binary(name: str) -> Path | None:
    """A PostgreSQL server program: Debian's PostgreSQL 15, else whatever PATH has."""
    found = POSTGRES_BIN / name if (POSTGRES_BIN / name).is_file() else shutil.which(name)
    return Path(found) if found else None


@dataclass(frozen=True)
class Postgres:
    """A running PostgreSQL cluster on 127.0.0.1, reached as POSTGRES_USER without a password."""

    port: int

    def url(self, database: str, driver: str = "psycopg") -> str:
        """An SQLAlchemy URL: psycopg (3) for the prediction log, psycopg2 for MLflow's store."""
        return f"postgresql+{driver}://{POSTGRES_USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> None:
        admin = sqlalchemy.create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        admin.dispose()


@contextmanager
def postgres_server(folder: Path) -> Iterator[Postgres]:
    """A PostgreSQL cluster in `folder` (outside pytest's temporary folders when running as root:
    initdb refuses root, so the cluster belongs to `nobody`, who must be able to reach `folder`)."""
    folder.mkdir(parents=True, exist_ok=True)
    as_owner = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
    if as_owner:
        shutil.chown(folder, "nobody")
    data, port = folder / "data", free_port()
    initdb = [*as_owner, postgres_binary("initdb"), "-D", data, "-U", POSTGRES_USER, "--auth=trust"]
    subprocess.run(initdb, check=True, capture_output=True)
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
    pg_ctl = [*as_owner, postgres_binary("pg_ctl"), "-D", data]
    subprocess.run(
        [*pg_ctl, "-o", options, "-l", folder / "postgres.log", "-w", "start"], check=True, capture_output=True
    )
    try:
        yield Postgres(port)
    finally:
        subprocess.run([*pg_ctl, "-m", "fast", "-w", "stop"], capture_output=True)


@contextmanager
def mlflow_server(store: str, artifacts: str, log: Path, env: dict[str, str]) -> Iterator[str]:
    """`mlflow server` on `store` (a database URL), proxying artifacts to `artifacts`; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [BIN / "mlflow", "server", "--backend-store-uri", store, "--artifacts-destination", artifacts]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    with running(command, log, lambda: answers(f"{url}/health"), 120, env={**os.environ, **env}):
        yield url
