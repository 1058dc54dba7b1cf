"""/openapi.json: an OpenAPI 3.1 document whose schemas pydantic generates from serve.payloads."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from serve import payloads

SCHEMAS: list[type[BaseModel]] = [
    payloads.ErrorResponse,
    payloads.FeedbackRequest,
    payloads.FeedbackResult,
    payloads.Health,
    payloads.InvocationsRequest,
    payloads.InvocationsResponse,
    payloads.MlflowError,
    payloads.ModelInfo,
    payloads.PredictionsPage,
    payloads.PredictRequest,
    payloads.PredictResponse,
    payloads.Readiness,
    payloads.ReloadResult,
    payloads.RetrainRequest,
    payloads.RetrainStatus,
    payloads.ServedDriftReport,
]
ERRORS = {
    "400": "Malformed JSON",
    "404": "Unknown prediction",
    "413": "Body or batch too large",
    "409": "A retrain is already running, or there is no pipeline to run",
    "415": "Not JSON",
    "422": "Invalid input",
}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def _errors(*codes: str) -> dict[str, Any]:
    return {code: _json(payloads.ErrorResponse, ERRORS.get(code, "Error")) for code in codes}


def _json_post(
    summary: str,
    request: type[BaseModel],
    response: type[BaseModel],
    errors: tuple[str, ...] = ("400", "413", "415", "422", "503"),
) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(request)}}},
            "responses": {"200": _json(response, "OK"), **_errors(*errors)},
        }
    }


def _invocations() -> dict[str, Any]:
    """MLflow's scoring protocol: JSON in its four formats or CSV with a header, its error body and statuses."""
    mlflow_error = {"application/json": {"schema": _ref(payloads.MlflowError)}}
    return {
        "post": {
            "summary": "MLflow scoring-server protocol: dataframe_split, dataframe_records, instances, inputs, or CSV",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": _ref(payloads.InvocationsRequest)},
                    "text/csv": {"schema": {"type": "string"}},
                },
            },
            "responses": {
                "200": _json(payloads.InvocationsResponse, "OK"),
                "400": {"description": "Malformed or invalid input (MLflow's error body)", "content": mlflow_error},
                "413": {"description": "Body or batch too large", "content": mlflow_error},
                "415": {
                    "description": "Not JSON or CSV in UTF-8",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                "503": {"description": "No model loaded", "content": mlflow_error},
            },
        }
    }


def _get(summary: str, response: type[BaseModel], *errors: str, parameters: list | None = None) -> dict[str, Any]:
    operation = {"summary": summary, "responses": {"200": _json(response, "OK"), **_errors(*errors)}}
    if parameters:
        operation["parameters"] = parameters
    return {"get": operation}


def _query_int(name: str, minimum: int, maximum: int | None, default: int) -> dict[str, Any]:
    schema = {"type": "integer", "minimum": minimum, "default": default}
    if maximum is not None:
        schema["maximum"] = maximum
    return {"name": name, "in": "query", "required": False, "schema": schema}


def openapi_document(title: str, version: str) -> dict[str, Any]:
    _, definitions = models_json_schema(
        [(model, "validation") for model in SCHEMAS], ref_template="#/components/schemas/{model}"
    )
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": {
            "/predict": _json_post(
                "Predict prices for one raw record or a list", payloads.PredictRequest, payloads.PredictResponse
            ),
            "/invocations": _invocations(),
            "/feedback": _json_post(
                "Record the observed value of a served prediction (live accuracy)",
                payloads.FeedbackRequest,
                payloads.FeedbackResult,
                errors=("400", "404", "415", "422"),
            ),
            "/health": _get("The process is alive", payloads.Health),
            "/ready": _get("A model is loaded", payloads.Readiness, "503"),
            "/model/info": _get("The served model version and its lineage", payloads.ModelInfo, "503"),
            "/predictions": _get(
                "Recent logged predictions, newest first",
                payloads.PredictionsPage,
                "422",
                parameters=[_query_int("limit", 1, 1000, 50), _query_int("offset", 0, None, 0)],
            ),
            "/drift": _get(
                "Drift of the latest served inputs from the champion's training data", payloads.ServedDriftReport
            ),
            "/admin/retrain": {
                "post": {
                    "summary": "Start the retrain command (ops.retrain) in the background",
                    "security": [{"bearer": []}],
                    "requestBody": {
                        "required": False,
                        "content": {"application/json": {"schema": _ref(payloads.RetrainRequest)}},
                    },
                    "responses": {
                        "202": _json(payloads.RetrainStatus, "Started"),
                        **_errors("400", "401", "403", "409", "415", "422", "500"),
                    },
                },
                "get": {
                    "summary": "Whether a retrain is running, and the retrain command's latest record",
                    "security": [{"bearer": []}],
                    "responses": {"200": _json(payloads.RetrainStatus, "OK"), **_errors("401", "403")},
                },
            },
            "/admin/reload": {
                "post": {
                    "summary": "Check the registry alias now and load a new version",
                    "security": [{"bearer": []}],
                    "responses": {"200": _json(payloads.ReloadResult, "Checked"), **_errors("401", "403")},
                }
            },
        },
        "components": {
            "schemas": definitions["$defs"],
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
