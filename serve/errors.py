"""Refusals: the error body every JSON endpoint answers with, the exception that carries it out of a
view (RequestError), the app's error handlers, and the request checks that raise it (JSON parsing,
validation against a pydantic model).

MLflow's scoring protocol refuses in its own shape; serve.mlflow_api handles errors of its routes.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, request
from pydantic import BaseModel, Field, ValidationError
from werkzeug.exceptions import HTTPException


class ErrorDetail(BaseModel):
    field: str = Field(description="Where the problem is: a field name, `[row].field`, `body` or a parameter.")
    message: str


class ErrorResponse(BaseModel):
    error: str
    details: list[ErrorDetail] = []


class RequestError(Exception):
    """A request the API refuses: an HTTP status and an ErrorResponse body."""

    def __init__(self, status: int, error: str, details: list[ErrorDetail] | None = None):
        super().__init__(error)
        self.status = status
        self.body = ErrorResponse(error=error, details=details or [])


def answer(body: BaseModel, status: int = 200) -> Response:
    return Response(body.model_dump_json(), status=status, mimetype="application/json")


def init_app(app: Flask) -> None:
    """Answer every refusal, HTTP error and failure of the app with an ErrorResponse."""
    app.register_error_handler(RequestError, refuse)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, failure)


def refuse(error: RequestError) -> Response:
    response = answer(error.body, error.status)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def http_detail(error: HTTPException) -> ErrorDetail:
    """What an HTTP error says went wrong: the body when it is too large, else the request."""
    return ErrorDetail(field="body" if error.code == 413 else "request", message=error.description or "")


def http_error(error: HTTPException) -> Response:
    response = answer(ErrorResponse(error=error.name.lower(), details=[http_detail(error)]), error.code or 500)
    response.headers.extend(error.get_headers())
    response.headers["Content-Type"] = "application/json"
    return response


def failure(error: Exception) -> Response:
    current_app.logger.exception("request %s failed", g.get("request_id"))
    detail = ErrorDetail(field="server", message=type(error).__name__)
    return answer(ErrorResponse(error="internal error", details=[detail]), 500)


def json_body() -> object:
    """The request's JSON, or a 415 when it says it is something else, or a 400 when it does not parse."""
    if not request.is_json:
        raise RequestError(
            415,
            "unsupported media type",
            [ErrorDetail(field="Content-Type", message=f"expected application/json (got {request.mimetype!r})")],
        )
    return parse_json(request.get_data(cache=False))


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise RequestError(400, "malformed JSON", [ErrorDetail(field="body", message=str(error))]) from None
    except RecursionError:
        message = "nested too deeply: no valid request nests more than a few levels"
        raise RequestError(400, "malformed JSON", [ErrorDetail(field="body", message=message)]) from None


Model = TypeVar("Model", bound=BaseModel)


def validate_model(model: type[Model], data: Any, status: int = 422) -> Model:
    """`data` as `model`, or a RequestError with `status` naming every field that breaks it."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise RequestError(status, "invalid request", details_of(error)) from None


def details_of(error: ValidationError, drop_index: bool = False) -> list[ErrorDetail]:
    """One ErrorDetail per problem pydantic found, its field written `[row].field` (`drop_index`: the
    request held one record, so its position is left out)."""
    details = []
    for problem in error.errors():
        location = list(problem["loc"][1:] if drop_index else problem["loc"])
        field = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location).lstrip(".")
        got = problem.get("input")
        suffix = "" if isinstance(got, dict | list) or problem["type"] == "missing" else f" (got {got!r})"
        details.append(ErrorDetail(field=field or "body", message=problem["msg"] + suffix))
    return details
