"""MLflow's scoring-server routes, so MLflow's clients can use this server as they use `mlflow models
serve`: /invocations (predictions in the model's unit), and the /ping and /version checks they wait
on. Refusals here are MLflow's (serve.mlflow_protocol): its error body, its statuses.
"""

from __future__ import annotations

import mlflow
from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import HTTPException

from housing.schema import TARGET_SCALE
from serve.errors import RequestError, answer, http_detail, http_error
from serve.mlflow_protocol import (
    InvocationsRequest,
    InvocationsResponse,
    MlflowError,
    UnsupportedMediaType,
    invocation,
    mlflow_error,
    unsupported,
)
from serve.openapi import PathItem, Room, json_content, ref
from serve.parts import parts
from serve.prediction import client_key, predict_and_log, validate_records

blueprint = Blueprint("mlflow_api", __name__)


@blueprint.post("/invocations")
def invocations() -> Response:
    served = parts()
    route = served.router.route(client_key())
    records, params = invocation(request)
    if params:
        current_app.logger.warning("params %s ignored: the model's signature declares none", sorted(params))
    rows = validate_records(records, served.settings.max_batch)
    _, dollars = predict_and_log(route, rows)
    return answer(InvocationsResponse(predictions=[value / TARGET_SCALE for value in dollars]))


@blueprint.get("/ping")
def ping() -> Response:
    """MLflow's scoring-server check, which its clients wait on: 200 once a model is loaded, else 404."""
    return Response("\n", 200 if parts().champion.current is not None else 404, mimetype="application/json")


@blueprint.get("/version")
def mlflow_version() -> Response:
    """The MLflow version this server speaks the scoring protocol of, as MLflow's own server answers."""
    return Response(mlflow.__version__, 200, mimetype="application/json")


@blueprint.errorhandler(RequestError)
def refuse(error: RequestError) -> Response:
    return mlflow_error(error.status, error.body.error, error.body.details)


@blueprint.errorhandler(UnsupportedMediaType)
def unsupported_media_type(error: UnsupportedMediaType) -> Response:
    return unsupported(error)


@blueprint.errorhandler(HTTPException)
def http_refusal(error: HTTPException) -> Response:
    """A malformed or too large body in MLflow's shape; any other HTTP error as the rest of the API's."""
    if error.code in (400, 413):
        return mlflow_error(error.code, error.name.lower(), [http_detail(error)])
    return http_error(error)


def _invocations() -> PathItem:
    """MLflow's scoring protocol: JSON in its four formats or CSV with a header, its error body and statuses."""
    mlflow_body = {"application/json": {"schema": ref(MlflowError)}}
    return {
        "post": {
            "summary": "MLflow scoring-server protocol: dataframe_split, dataframe_records, instances, inputs, or CSV",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": ref(InvocationsRequest)},
                    "text/csv": {"schema": {"type": "string"}},
                },
            },
            "responses": {
                "200": json_content(InvocationsResponse, "OK"),
                "400": {"description": "Malformed or invalid input (MLflow's error body)", "content": mlflow_body},
                "413": {"description": "Body or batch too large", "content": mlflow_body},
                "415": {
                    "description": "Not JSON or CSV in UTF-8",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                "503": {"description": "No model loaded", "content": mlflow_body},
            },
        }
    }


ROOM = Room(
    blueprints=(blueprint,),
    paths={"/invocations": _invocations()},
    schemas=(InvocationsRequest, InvocationsResponse, MlflowError),
    undocumented={
        "/ping": "MLflow's readiness check: an empty body, 200 or 404",
        "/version": "MLflow's version, as plain text",
    },
)
