"""/openapi.json: an OpenAPI 3.1 document whose schemas pydantic generates from serve.payloads."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from serve import payloads

SCHEMAS: list[type[BaseModel]] = [
    payloads.AccuracyOverTime,
    payloads.ErrorResponse,
    payloads.FeedbackRequest,
    payloads.FeedbackResult,
    payloads.Health,
    payloads.InvocationsRequest,
    payloads.InvocationsResponse,
    payloads.LiveSummary,
    payloads.LoggedPrediction,
    payloads.MlflowError,
    payloads.ModelInfo,
    payloads.PredictionsPage,
    payloads.PredictRequest,
    payloads.PredictResponse,
    payloads.Readiness,
    payloads.ReloadResult,
    payloads.RetrainRequest,
    payloads.RegistryModels,
    payloads.RetrainStatus,
    payloads.ServedDriftReport,
    payloads.SystemStatus,
    payloads.TrainingLoss,
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


def _query(model: type[BaseModel]) -> list[dict[str, Any]]:
    """A query model's fields as optional query parameters (an optional field's schema without its null)."""
    parameters = []
    for name, schema in model.model_json_schema()["properties"].items():
        alternatives = [option for option in schema.get("anyOf", [schema]) if option.get("type") != "null"]
        described = {
            key: value for key, value in schema.items() if key in ("default", "description") and value is not None
        }
        parameters.append({"name": name, "in": "query", "required": False, "schema": {**alternatives[0], **described}})
    return parameters


def _export() -> dict[str, Any]:
    rows = {"type": "array", "items": _ref(payloads.LoggedPrediction)}
    return {
        "get": {
            "summary": "Every logged prediction that passes the filters, streamed as CSV (inputs as columns) or JSON",
            "parameters": _query(payloads.ExportQuery),
            "responses": {
                "200": {
                    "description": "An attachment, predictions.csv or predictions.json",
                    "content": {"text/csv": {"schema": {"type": "string"}}, "application/json": {"schema": rows}},
                },
                **_errors("422"),
            },
        }
    }


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
                "Logged predictions that pass the filters, newest first, a page at a time",
                payloads.PredictionsPage,
                "422",
                parameters=_query(payloads.PredictionsQuery),
            ),
            "/predictions/export": _export(),
            "/predictions/summary": _get(
                "Served traffic of the last minutes: rate, prices, and where the latest answers are",
                payloads.LiveSummary,
                "422",
                parameters=_query(payloads.SummaryQuery),
            ),
            "/predictions/accuracy": _get(
                "Live RMSE and MAE from feedback per model version and role, over time",
                payloads.AccuracyOverTime,
                "422",
                parameters=_query(payloads.AccuracyQuery),
            ),
            "/models": _get("The registry's versions, aliases and registration scores", payloads.RegistryModels),
            "/training/loss": _get("The latest MLP training run's per-epoch losses", payloads.TrainingLoss),
            "/system": _get("Health, readiness, workers, memory and GPUs", payloads.SystemStatus),
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
