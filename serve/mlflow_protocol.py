"""MLflow 3.17's scoring protocol on /invocations: its content types, its JSON formats and CSV, its
error body, and their schemas. The records it yields are validated like /predict's, with HousingRow.

Where this server refuses and MLflow answers: values outside HousingRow's physical bounds, and
columns the model does not know (MLflow predicts anyway). Both are 400s in MLflow's shape here.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated, Any

from flask import Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from housing.schema import NUMERIC_COLUMNS
from serve.errors import ErrorDetail, RequestError, parse_json, validate_model

CONTENT_TYPES = ("text/csv", "application/json", "application/vnd.apache.parquet")
"""What MLflow's scoring server names as supported, in its own message (parquet is not taken here)."""
ERROR_CODES = {400: "BAD_REQUEST", 413: "RESOURCE_LIMIT_EXCEEDED", 503: "TEMPORARILY_UNAVAILABLE"}


class DataframeSplit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    columns: list[str]
    data: list[list[Any]] = Field(min_length=1)
    index: list[Any] | None = None


Records = Annotated[list[dict[str, Any]], Field(min_length=1)]
Columns = dict[str, list[Any]]
"""TensorFlow-serving style input as MLflow reads it: a list of records, or a list of values per column."""


class InvocationsRequest(BaseModel):
    """MLflow's scoring-server request: exactly one of dataframe_records, dataframe_split, instances or
    inputs, and optionally params."""

    model_config = ConfigDict(extra="forbid")

    dataframe_records: Records | None = None
    dataframe_split: DataframeSplit | None = None
    instances: Records | Columns | None = None
    inputs: Records | Columns | None = None
    params: dict[str, Any] | None = Field(
        default=None,
        description="Accepted and ignored, as MLflow ignores params that the model's signature declares no schema for.",
    )

    def formats(self) -> list[str]:
        """The input formats the request gives (a valid one gives exactly one)."""
        return [name for name in INVOCATION_FORMATS if getattr(self, name) is not None]

    @model_validator(mode="after")
    def exactly_one_format(self) -> InvocationsRequest:
        given = self.formats()
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(INVOCATION_FORMATS)} (got {given or 'none'})")
        return self

    def records(self) -> list[dict[str, Any]]:
        if self.dataframe_split is not None:
            split = self.dataframe_split
            return _zipped("dataframe_split.data", split.columns, split.data)
        [name] = self.formats()
        data = getattr(self, name)
        if isinstance(data, dict):
            lengths = {len(values) for values in data.values()}
            if len(lengths) != 1:
                detail = ErrorDetail(field=name, message="every column needs the same number of values")
                raise RequestError(422, "invalid request", [detail])
            return _zipped(name, list(data), [list(values) for values in zip(*data.values(), strict=True)])
        return data


INVOCATION_FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")


def _zipped(field: str, columns: list[str], rows: list[list[Any]]) -> list[dict[str, Any]]:
    for position, values in enumerate(rows):
        if len(values) != len(columns):
            detail = ErrorDetail(field=f"{field}[{position}]", message="row length differs from columns")
            raise RequestError(422, "invalid request", [detail])
    return [dict(zip(columns, values, strict=True)) for values in rows]


class MlflowError(BaseModel):
    """MLflow's error body, which /invocations answers with (as `mlflow models serve` does)."""

    error_code: str = Field(description="BAD_REQUEST, INVALID_PARAMETER_VALUE (a record breaks the schema), ...")
    message: str


class InvocationsResponse(BaseModel):
    predictions: list[float] = Field(description="Model output in the model's unit, $100,000, as MLflow serves it.")


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
