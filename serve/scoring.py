"""MLflow 3.17's scoring protocol on /invocations: its content types, its JSON formats and CSV, its
error body. The records it yields are validated like /predict's, with HousingRow.

Where this server refuses and MLflow answers: values outside HousingRow's physical bounds, and
columns the model does not know (MLflow predicts anyway). Both are 400s in MLflow's shape here.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from flask import Request, Response

from housing.schema import NUMERIC_COLUMNS
from serve.payloads import ErrorDetail, InvocationsRequest, RequestError, parse_json, validate_model

CONTENT_TYPES = ("text/csv", "application/json", "application/vnd.apache.parquet")
"""What MLflow's scoring server names as supported, in its own message (parquet is not taken here)."""
ERROR_CODES = {400: "BAD_REQUEST", 413: "RESOURCE_LIMIT_EXCEEDED", 503: "TEMPORARILY_UNAVAILABLE"}


class UnsupportedMediaType(Exception):
    """A content type MLflow's server answers 415 to, with a plain-text message."""


def invocation(request: Request) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The records and params of an /invocations request, or RequestError / UnsupportedMediaType."""
    mime_type, parameters = content_type(request.headers.get("Content-Type", ""))
    if parameters.get("charset", "utf-8").lower() != "utf-8":
        raise UnsupportedMediaType("The scoring server only supports UTF-8")
    if unknown := sorted(set(parameters) - {"charset"}):
        raise UnsupportedMediaType(f"Unrecognized content type parameters: {', '.join(unknown)}.")
    body = request.get_data(cache=False)
    if mime_type == "text/csv":
        return csv_records(body), None
    if mime_type != "application/json":
        raise UnsupportedMediaType(
            f"This predictor only supports the following content types: Types: {list(CONTENT_TYPES)}."
            f" Got '{request.headers.get('Content-Type', '')}'."
        )
    data = parse_json(body)
    if not isinstance(data, dict):
        raise RequestError(400, "invalid request", [ErrorDetail(field="body", message="expected a JSON object")])
    parsed: InvocationsRequest = validate_model(InvocationsRequest, data, status=400)
    return parsed.records(), parsed.params


def content_type(header: str) -> tuple[str, dict[str, str]]:
    """`text/csv; charset=utf-8` -> ("text/csv", {"charset": "utf-8"})."""
    mime_type, *pairs = [part.strip() for part in header.split(";")]
    return mime_type.lower(), {
        key.strip().lower(): value.strip() for key, _, value in (p.partition("=") for p in pairs)
    }


def csv_records(body: bytes) -> list[dict[str, Any]]:
    """CSV with a header row as records: numbers parsed, an empty cell missing (as pandas reads it)."""
    try:
        rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
    except (UnicodeDecodeError, csv.Error) as error:
        raise RequestError(400, "malformed CSV", [ErrorDetail(field="body", message=str(error))]) from None
    return [{name: _cell(name, value, position) for name, value in row.items()} for position, row in enumerate(rows)]


def _cell(name: str | None, value: str | list | None, position: int) -> Any:
    if name is None or not isinstance(value, str):
        detail = ErrorDetail(field=f"[{position}]", message="more or fewer cells than the header has columns")
        raise RequestError(422, "invalid record", [detail])
    if name not in NUMERIC_COLUMNS:
        return value
    if not value.strip():
        return None
    try:
        return float(value)
    except ValueError:
        raise RequestError(
            422, "invalid record", [ErrorDetail(field=f"[{position}].{name}", message="not a number")]
        ) from None


def mlflow_error(status: int, error: str, details: list[ErrorDetail]) -> Response:
    """A refusal in MLflow's shape: `{"error_code", "message"}`; a record that breaks the schema is its
    INVALID_PARAMETER_VALUE 400, as MLflow's schema enforcement answers."""
    if status == 422:
        status, code = 400, "INVALID_PARAMETER_VALUE"
    else:
        code = ERROR_CODES.get(status, "BAD_REQUEST")
    message = "; ".join([error, *(f"{detail.field}: {detail.message}" for detail in details)])
    return Response(json.dumps({"error_code": code, "message": message}), status, mimetype="application/json")


def unsupported(error: UnsupportedMediaType) -> Response:
    return Response(str(error), 415, mimetype="text/plain")
