"""The public API: predictions (/predict) and their feedback, whether a model is loaded and which
(/ready, /model/info), the served traffic's drift (/drift), the prediction log (/predictions) and the
document that describes the JSON endpoints of every room (/openapi.json)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, jsonify, request

from serve import history
from serve.api_schemas import (
    FeedbackRequest,
    FeedbackResult,
    Health,
    ModelInfo,
    ModelRef,
    Prediction,
    PredictRequest,
    PredictResponse,
    Readiness,
    ServedDriftReport,
)
from serve.errors import ErrorDetail, RequestError, answer, json_body, validate_model
from serve.history import HistoryFilters, PredictionsPage, PredictionsQuery
from serve.openapi import Room, json_get, json_post, query_parameters
from serve.parts import parts
from serve.prediction import client_key, predict_and_log, validate_records
from serve.routing import serving_model

OPENAPI = "housing_serve_openapi"
"""The key of the /openapi.json document in app.extensions (create_app writes it once)."""

blueprint = Blueprint("api", __name__)


@blueprint.post("/predict")
def predict() -> Response:
    served = parts()
    route = served.router.route(client_key())
    rows = validate_records(json_body(), served.settings.max_batch)
    model, dollars = predict_and_log(route, rows)
    body = PredictResponse(
        request_id=g.request_id,
        model=ModelRef.of(model),
        predictions=[Prediction(median_house_value=round(value, 2)) for value in dollars],
    )
    return answer(body)


@blueprint.post("/feedback")
def feedback() -> Response:
    served = parts()
    report: FeedbackRequest = validate_model(FeedbackRequest, json_body())
    logged = served.predictions.served_prediction(report.request_id, report.row, served.settings.feedback_wait_seconds)
    if logged is None:
        detail = ErrorDetail(field="request_id", message=f"no logged prediction {report.request_id} row {report.row}")
        raise RequestError(404, "unknown prediction", [detail])
    served.predictions.record_feedback(report.request_id, report.row, report.actual_value)
    served.metrics.live_errors(served.predictions.live_errors(served.settings.live_window))
    result = FeedbackResult(
        request_id=report.request_id,
        row=report.row,
        model_version=logged["model_version"],
        role=logged["role"],
        prediction=logged["prediction"],
        actual_value=report.actual_value,
        error=logged["prediction"] - report.actual_value,
    )
    return answer(result)


@blueprint.get("/health")
def health() -> Response:
    return answer(Health(status="ok"))


@blueprint.get("/ready")
def ready() -> Response:
    readiness = Readiness.of(parts().champion)
    return answer(readiness, 200 if readiness.ready else 503)


@blueprint.get("/model/info")
def model_info() -> Response:
    return answer(ModelInfo.model_validate(serving_model(parts().champion).info))


@blueprint.get("/predictions")
def recent_predictions() -> Response:
    query: PredictionsQuery = validate_model(PredictionsQuery, request.args.to_dict())
    filters = HistoryFilters.model_validate(query.model_dump(exclude={"limit", "offset"}))
    total, rows = history.page(parts().settings.prediction_db, filters, query.limit, query.offset)
    page = {"limit": query.limit, "offset": query.offset, "total": total, "predictions": rows}
    return answer(PredictionsPage.model_validate(page))


@blueprint.get("/drift")
def served_drift() -> Response:
    model, result, problem = parts().drift.measure()
    report = ServedDriftReport.model_validate(
        {**(result or {}), "model": model and ModelRef.of(model), "problem": problem}
    )
    return answer(report)


@blueprint.get("/openapi.json")
def openapi() -> Response:
    return jsonify(current_app.extensions[OPENAPI])


ROOM = Room(
    blueprints=(blueprint,),
    paths={
        "/predict": json_post("Predict prices for one raw record or a list", PredictRequest, PredictResponse),
        "/feedback": json_post(
            "Record the observed value of a served prediction (live accuracy)",
            FeedbackRequest,
            FeedbackResult,
            refusals=("400", "404", "415", "422"),
        ),
        "/health": json_get("The process is alive", Health),
        "/ready": json_get("A model is loaded", Readiness, "503"),
        "/model/info": json_get("The served model version and its lineage", ModelInfo, "503"),
        "/predictions": json_get(
            "Logged predictions that pass the filters, newest first, a page at a time",
            PredictionsPage,
            "422",
            parameters=query_parameters(PredictionsQuery),
        ),
        "/drift": json_get("Drift of the latest served inputs from the champion's training data", ServedDriftReport),
    },
    schemas=(
        FeedbackRequest,
        FeedbackResult,
        Health,
        ModelInfo,
        PredictionsPage,
        PredictRequest,
        PredictResponse,
        Readiness,
        ServedDriftReport,
    ),
    undocumented={"/openapi.json": "the document itself"},
)
