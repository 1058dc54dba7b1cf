"""One request's prediction, as /predict and /invocations make it: its records validated against
HousingRow, predicted by the model the router chose, checked finite, counted, logged, sampled for the
fast-path check, and predicted again in the shadow when a challenger runs there."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
from flask import g, request
from pydantic import TypeAdapter, ValidationError

from housing.fast import columns_of
from housing.features import RawColumns
from housing.schema import RAW_COLUMNS, HousingRow
from serve.errors import ErrorDetail, RequestError, details_of
from serve.parts import parts
from serve.request_log import elapsed_ms
from serve.routing import Route, check_fast_path, predict_in_shadow
from serve.watcher import ServedModel

_records = TypeAdapter(list[HousingRow])


def client_key() -> str:
    """Who the client is, for a sticky traffic split: its X-Client-ID, else its address."""
    return request.headers.get("X-Client-ID") or request.remote_addr or ""


def validate_records(records: Any, max_batch: int) -> list[HousingRow]:
    """A single record or a list of 1..max_batch records, each checked against HousingRow."""
    single = isinstance(records, dict)
    if not single and not isinstance(records, list):
        raise RequestError(
            422, "invalid request", [ErrorDetail(field="body", message="expected a record or a list of records")]
        )
    if not single and not records:
        raise RequestError(422, "invalid request", [ErrorDetail(field="body", message="the list of records is empty")])
    if not single and len(records) > max_batch:
        message = f"at most {max_batch} records per request (got {len(records)})"
        raise RequestError(413, "batch too large", [ErrorDetail(field="body", message=message)])
    try:
        return _records.validate_python([records] if single else records, strict=True)
    except ValidationError as error:
        raise RequestError(422, "invalid record", details_of(error, drop_index=single)) from None


def records_columns(rows: list[HousingRow]) -> RawColumns:
    """Validated records as raw columns for the logged model (missing values as NaN).

    The pipeline looks columns up by name, so a mapping of arrays does, and spares every request the
    construction of a pandas DataFrame.
    """
    return columns_of({name: [getattr(row, name) for row in rows] for name in RAW_COLUMNS})


def predict_and_log(route: Route, rows: list[HousingRow]) -> tuple[ServedModel, list[float]]:
    """Predict with the routed model, log and count it, and have the shadow (if any) predict afterwards."""
    served = parts()
    columns = records_columns(rows)
    answered, predicted = route.predict_dollars(columns)
    if not np.isfinite(predicted).all():
        message = "the model's prediction overflows: values far outside anything it was trained on"
        details = [ErrorDetail(field=f"[{row}]", message=message) for row in np.flatnonzero(~np.isfinite(predicted))]
        raise RequestError(422, "cannot predict", details)
    model = answered.model
    served.metrics.predicted(model, answered.role, predicted)
    if model.fast is not None and random.random() < served.settings.fast_check_share:  # nosec B311  # sampling, not security
        check_fast_path(model, columns, predicted, served.metrics)
    dollars = predicted.tolist()
    inputs = [row.model_dump_json() for row in rows]
    served.predictions.record(
        g.request_id, model.name, model.version, inputs, dollars, elapsed_ms(), role=answered.role
    )
    shadow = served.router.shadow()
    if shadow is not None:
        predict_in_shadow(shadow, columns, g.request_id, inputs, served.predictions, served.metrics)
    return model, dollars
