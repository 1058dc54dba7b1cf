"""The prediction log read back, as /predictions pages it and /predictions/export streams it: the
filters both take (their schemas are here, beside the queries they make), a page, and an export.

Filters are SQL, so a page, a count and an export each read only the rows they return, on SQLite
and PostgreSQL alike. A record's inputs are stored as JSON text; ocean_proximity is filtered inside
it with each database's own JSON operator.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import ColumnElement, Select, and_, cast, func, select, true
from sqlalchemy.dialects.postgresql import JSONB

from housing.schema import RAW_COLUMNS, OceanProximity
from serve.prediction_log import PREDICTIONS, Role, engine, timestamp

LOG_COLUMNS = [column.name for column in PREDICTIONS.columns if column.name != "inputs"]
EXPORT_COLUMNS = [*LOG_COLUMNS, *RAW_COLUMNS]
"""An exported CSV row: the log's own columns, then the record's inputs, one column each."""
EXPORT_BATCH = 1000
BIGINT_MAX = 2**63 - 1
"""The largest integer SQLite and PostgreSQL compare with: a larger one in a query overflowed into a 500."""


class HistoryFilters(BaseModel):
    """Which logged predictions: every filter given must hold (none given: all of them)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    since: AwareDatetime | None = Field(default=None, description="Logged at or after this moment (with its offset).")
    until: AwareDatetime | None = Field(default=None, description="Logged before this moment.")
    model_version: int | None = Field(default=None, ge=1, le=BIGINT_MAX)
    role: Role | None = None
    ocean_proximity: OceanProximity | None = None
    min_price: float | None = Field(default=None, ge=0, description="Predicted dollars at least this.")
    max_price: float | None = Field(default=None, ge=0, description="Predicted dollars at most this.")
    request_id: str | None = Field(default=None, min_length=1, max_length=128, description="Request ids starting so.")

    @field_validator("since", "until", mode="before")
    @classmethod
    def iso_time(cls, value: object) -> object:
        """An ISO 8601 time, as the query string gives it: pydantic alone would also take a number (Unix time)."""
        if isinstance(value, str):
            try:
                datetime.fromisoformat(value)
            except ValueError:
                raise ValueError("expected an ISO 8601 time with its offset, e.g. 2026-12-01T00:00:00Z") from None
        return value

    @field_validator("until")
    @classmethod
    def after_since(cls, until: datetime | None, info: ValidationInfo) -> datetime | None:
        since = info.data.get("since")
        if until and since and until <= since:
            raise ValueError(f"must come after since ({since.isoformat()})")
        return until

    @field_validator("max_price")
    @classmethod
    def at_least_min_price(cls, top: float | None, info: ValidationInfo) -> float | None:
        bottom = info.data.get("min_price")
        if top is not None and bottom is not None and top < bottom:
            raise ValueError(f"must be at least min_price ({bottom})")
        return top


class PredictionsQuery(HistoryFilters):
    limit: int = Field(default=50, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=BIGINT_MAX)


class ExportQuery(HistoryFilters):
    format: Literal["csv", "json"] = Field(default="csv", description="CSV (inputs as columns) or a JSON array.")


class LoggedPrediction(BaseModel):
    id: int
    request_id: str
    row: int = Field(description="Position of the record in its request.")
    created_at: str
    model_name: str
    model_version: int
    inputs: dict[str, Any]
    prediction: float = Field(description="Dollars.")
    latency_ms: float = Field(description="Time the whole request took in the server (a shadow: its own prediction).")
    role: Role


class PredictionsPage(BaseModel):
    limit: int
    offset: int
    total: int = Field(description="Logged predictions that pass the filters, on every page.")
    predictions: list[LoggedPrediction]


def _input_field(dialect: str, name: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return cast(PREDICTIONS.c.inputs, JSONB)[name].astext
    return func.json_extract(PREDICTIONS.c.inputs, f"$.{name}")


def _where(filters: HistoryFilters, dialect: str) -> ColumnElement[bool]:
    columns = PREDICTIONS.c
    conditions = [
        *([columns.created_at >= timestamp(filters.since)] if filters.since else []),
        *([columns.created_at < timestamp(filters.until)] if filters.until else []),
        *([columns.model_version == filters.model_version] if filters.model_version is not None else []),
        *([columns.role == filters.role] if filters.role else []),
        *([columns.prediction >= filters.min_price] if filters.min_price is not None else []),
        *([columns.prediction <= filters.max_price] if filters.max_price is not None else []),
        *([columns.request_id.startswith(filters.request_id, autoescape=True)] if filters.request_id else []),
    ]
    if filters.ocean_proximity:
        conditions.append(_input_field(dialect, "ocean_proximity") == filters.ocean_proximity)
    return and_(true(), *conditions)


def _dialect(location: str | Path) -> str:
    return engine(location).dialect.name


def filtered(location: str | Path, filters: HistoryFilters) -> Select:
    """The filtered log, newest first."""
    return PREDICTIONS.select().where(_where(filters, _dialect(location))).order_by(PREDICTIONS.c.id.desc())


def page(location: str | Path, filters: HistoryFilters, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
    """How many rows pass the filters, and `limit` of them from `offset`, newest first."""
    count = select(func.count()).select_from(PREDICTIONS).where(_where(filters, _dialect(location)))
    with engine(location).connect() as connection:
        total = connection.execute(count).scalar_one()
        rows = connection.execute(filtered(location, filters).limit(limit).offset(offset)).mappings().all()
    return total, [_logged(row) for row in rows]


def _logged(row: Any) -> dict[str, Any]:
    return {**row, "inputs": json.loads(row["inputs"])}


def _streamed(location: str | Path, filters: HistoryFilters) -> Iterator[dict[str, Any]]:
    """Every filtered row, read EXPORT_BATCH at a time through a server-side cursor where there is one."""
    with engine(location).connect() as connection:
        result = connection.execution_options(stream_results=True, yield_per=EXPORT_BATCH).execute(
            filtered(location, filters)
        )
        for row in result.mappings():
            yield _logged(row)


def export_csv(location: str | Path, filters: HistoryFilters) -> Iterator[str]:
    """The filtered rows as CSV text, a header and then one chunk per EXPORT_BATCH rows."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, EXPORT_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for count, row in enumerate(_streamed(location, filters), start=1):
        writer.writerow({**row, **row["inputs"]})
        if count % EXPORT_BATCH == 0:
            yield _drained(buffer)
    yield _drained(buffer)


def export_json(location: str | Path, filters: HistoryFilters) -> Iterator[str]:
    """The filtered rows as one JSON array of /predictions' objects, written a row at a time."""
    yield "["
    for count, row in enumerate(_streamed(location, filters)):
        yield ("," if count else "") + "\n" + json.dumps(row)
    yield "\n]\n"


def _drained(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
