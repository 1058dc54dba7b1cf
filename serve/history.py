"""The prediction log read back: filtered pages, streamed exports, and what the dashboard charts.

Filters are SQL, so a page, a count and an export each read only the rows they return, on SQLite
and PostgreSQL alike. A record's inputs are stored as JSON text; ocean_proximity is filtered inside
it with each database's own JSON operator.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, Select, and_, cast, func, select, true
from sqlalchemy.dialects.postgresql import JSONB

from housing.schema import RAW_COLUMNS
from serve.payloads import HistoryFilters
from serve.prediction_log import FEEDBACK, PREDICTIONS, engine, read, timestamp

LOG_COLUMNS = [column.name for column in PREDICTIONS.columns if column.name != "inputs"]
EXPORT_COLUMNS = [*LOG_COLUMNS, *RAW_COLUMNS]
"""An exported CSV row: the log's own columns, then the record's inputs, one column each."""
EXPORT_BATCH = 1000
PRICE_BINS = 40
BUCKET_CHARACTERS = {"minute": 16, "hour": 13, "day": 10}
"""How many leading characters of an ISO timestamp name its minute, hour or day."""


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


def per_minute(location: str | Path, minutes: int, now: datetime) -> list[dict[str, Any]]:
    """Answered predictions (shadows left out) in each of the last `minutes` minutes, oldest first, zeros included."""
    start = (now - timedelta(minutes=minutes - 1)).replace(second=0, microsecond=0)
    minute = func.substr(PREDICTIONS.c.created_at, 1, BUCKET_CHARACTERS["minute"])
    query = (
        select(minute.label("minute"), func.count().label("count"))
        .where(PREDICTIONS.c.created_at >= timestamp(start), PREDICTIONS.c.role != "shadow")
        .group_by(minute)
    )
    counts = {row["minute"]: row["count"] for row in read(location, query)}
    labels = [timestamp(start + timedelta(minutes=step))[: BUCKET_CHARACTERS["minute"]] for step in range(minutes)]
    return [{"minute": label, "count": int(counts.get(label, 0))} for label in labels]


def recent_answers(location: str | Path, limit: int, since: datetime) -> list[dict[str, Any]]:
    """The latest `limit` answered predictions since `since`: where (from the inputs), what and when."""
    query = (
        PREDICTIONS.select()
        .where(PREDICTIONS.c.created_at >= timestamp(since), PREDICTIONS.c.role != "shadow")
        .order_by(PREDICTIONS.c.id.desc())
        .limit(limit)
    )
    answers = []
    for row in read(location, query):
        inputs = json.loads(row["inputs"])
        answers.append(
            {
                "created_at": row["created_at"],
                "model_version": row["model_version"],
                "role": row["role"],
                "prediction": row["prediction"],
                "longitude": inputs["longitude"],
                "latitude": inputs["latitude"],
                "ocean_proximity": inputs["ocean_proximity"],
            }
        )
    return answers


def price_histogram(prices: list[float]) -> dict[str, list[float]]:
    """PRICE_BINS equal bins from 0 to the highest price (at least the data's $500,001 cap)."""
    top = max([500_001.0, *prices])
    counts, edges = np.histogram(prices, bins=PRICE_BINS, range=(0.0, top))
    return {"edges": edges.round(2).tolist(), "counts": counts.tolist()}


def accuracy_over_time(location: str | Path, bucket: str, since: datetime) -> list[dict[str, Any]]:
    """Live RMSE and MAE (dollars) per model version and role in each `bucket` of prediction time since `since`.

    A feedback report scores every row logged for its record, so a shadow's accuracy shows too.
    """
    prediction, actual = PREDICTIONS.c.prediction, FEEDBACK.c.actual
    period = func.substr(PREDICTIONS.c.created_at, 1, BUCKET_CHARACTERS[bucket]).label("period")
    query = (
        select(
            period,
            PREDICTIONS.c.model_version,
            PREDICTIONS.c.role,
            func.count().label("count"),
            func.avg((prediction - actual) * (prediction - actual)).label("mse"),
            func.avg(func.abs(prediction - actual)).label("mae"),
        )
        .select_from(PREDICTIONS.join(FEEDBACK, and_(*_same_record())))
        .where(PREDICTIONS.c.created_at >= timestamp(since))
        .group_by(period, PREDICTIONS.c.model_version, PREDICTIONS.c.role)
        .order_by(period)
    )
    return [
        {
            "period": row["period"],
            "model_version": row["model_version"],
            "role": row["role"],
            "count": int(row["count"]),
            "rmse": math.sqrt(row["mse"]),
            "mae": float(row["mae"]),
        }
        for row in read(location, query)
    ]


def _same_record() -> list[ColumnElement[bool]]:
    return [PREDICTIONS.c.request_id == FEEDBACK.c.request_id, PREDICTIONS.c.row == FEEDBACK.c.row]
