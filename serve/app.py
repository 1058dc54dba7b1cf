"""The Flask app: `create_app(settings, champion, predictions, ...)` with every dependency injected.

serve.wsgi builds the real dependencies from the environment, in each gunicorn worker. Which model
answers a request, champion or challenger, is serve.routing's business.
"""

from __future__ import annotations

import hmac
import json
import logging
import random
import re
import secrets
import time
from importlib.metadata import PackageNotFoundError, version

import mlflow
import numpy as np
from flask import Flask, Response, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from housing.schema import TARGET_SCALE, HousingRow
from serve import history
from serve.dashboard import dashboard
from serve.dashboard_api import dashboard_api
from serve.drift import ServedDrift
from serve.metrics import ServeMetrics
from serve.openapi import openapi_document
from serve.payloads import (
    ErrorDetail,
    ErrorResponse,
    FeedbackRequest,
    FeedbackResult,
    Health,
    HistoryFilters,
    InvocationsResponse,
    ModelInfo,
    ModelRef,
    Prediction,
    PredictionsPage,
    PredictionsQuery,
    PredictResponse,
    Readiness,
    ReloadResult,
    RequestError,
    RetrainRequest,
    RetrainStatus,
    ServedDriftReport,
    answer,
    parse_json,
    records_columns,
    validate_model,
    validate_records,
)
from serve.prediction_log import PredictionLog
from serve.registry import Registry
from serve.retrain import RetrainLauncher
from serve.routing import Route, Router, check_fast_path, predict_in_shadow, serving_model
from serve.scoring import UnsupportedMediaType, invocation, mlflow_error, unsupported
from serve.settings import Settings
from serve.watcher import AliasWatcher, ServedModel

access_log = logging.getLogger("serve.access")
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
"""A client's X-Request-ID is kept when it looks like this; otherwise the server makes one up from
`random`, not `uuid4`: ids need to be unique, not secret, and os.urandom costs ~0.5 ms here."""


def create_app(
    settings: Settings,
    champion: AliasWatcher,
    predictions: PredictionLog,
    drift: ServedDrift,
    retrainer: RetrainLauncher,
    registry: Registry,
    challenger: AliasWatcher | None = None,
) -> Flask:
    app = Flask(__name__)
    app.register_blueprint(dashboard_api(settings, champion, challenger, registry, package_version()))
    app.register_blueprint(dashboard)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    metrics = ServeMetrics(app)
    drift.on_update(metrics.served_drift)
    champion.on_swap(metrics.champion_swapped)
    if challenger is not None:
        challenger.on_swap(metrics.model_swapped)
    router = Router(champion, challenger, settings.challenger_mode, settings.challenger_share)

    @app.before_request
    def start_clock() -> None:
        g.started = time.perf_counter()
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if REQUEST_ID.fullmatch(given) else secrets.token_hex(16)

    @app.after_request
    def finish(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.request_id
        access_log.info(
            json.dumps(
                {
                    "request_id": g.request_id,
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "ms": round(elapsed_ms(), 3),
                    "remote": request.remote_addr,
                }
            )
        )
        return response

    @app.errorhandler(RequestError)
    def refuse(error: RequestError) -> Response:
        if request.path == "/invocations":
            return mlflow_error(error.status, error.body.error, error.body.details)
        response = answer(error.body, error.status)
        if error.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.errorhandler(UnsupportedMediaType)
    def unsupported_media_type(error: UnsupportedMediaType) -> Response:
        return unsupported(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        detail = ErrorDetail(field="body" if error.code == 413 else "request", message=error.description or "")
        if request.path == "/invocations" and error.code in (400, 413):
            return mlflow_error(error.code, error.name.lower(), [detail])
        response = answer(ErrorResponse(error=error.name.lower(), details=[detail]), error.code or 500)
        response.headers.extend(error.get_headers())
        response.headers["Content-Type"] = "application/json"
        return response

    @app.errorhandler(Exception)
    def failure(error: Exception) -> Response:
        app.logger.exception("request %s failed", g.get("request_id"))
        detail = ErrorDetail(field="server", message=type(error).__name__)
        return answer(ErrorResponse(error="internal error", details=[detail]), 500)

    @app.post("/predict")
    def predict() -> Response:
        route = router.route(client_key())
        rows = validate_records(json_body(), settings.max_batch)
        model, dollars = predict_and_log(route, rows)
        body = PredictResponse(
            request_id=g.request_id,
            model=model_ref(model),
            predictions=[Prediction(median_house_value=round(value, 2)) for value in dollars],
        )
        return answer(body)

    @app.post("/invocations")
    def invocations() -> Response:
        route = router.route(client_key())
        records, params = invocation(request)
        if params:
            app.logger.warning("params %s ignored: the model's signature declares none", sorted(params))
        rows = validate_records(records, settings.max_batch)
        _, dollars = predict_and_log(route, rows)
        return answer(InvocationsResponse(predictions=[value / TARGET_SCALE for value in dollars]))

    def predict_and_log(route: Route, rows: list[HousingRow]) -> tuple[ServedModel, list[float]]:
        """Predict with the routed model, log and count it, and have the shadow (if any) predict afterwards."""
        columns = records_columns(rows)
        answered, predicted = route.predict_dollars(columns)
        if not np.isfinite(predicted).all():
            message = "the model's prediction overflows: values far outside anything it was trained on"
            details = [
                ErrorDetail(field=f"[{row}]", message=message) for row in np.flatnonzero(~np.isfinite(predicted))
            ]
            raise RequestError(422, "cannot predict", details)
        model = answered.model
        metrics.predicted(model, answered.role, predicted)
        if model.fast is not None and random.random() < settings.fast_check_share:  # nosec B311  # sampling, not security
            check_fast_path(model, columns, predicted, metrics)
        dollars = predicted.tolist()
        inputs = [row.model_dump_json() for row in rows]
        predictions.record(g.request_id, model.name, model.version, inputs, dollars, elapsed_ms(), role=answered.role)
        shadow = router.shadow()
        if shadow is not None:
            predict_in_shadow(shadow, columns, g.request_id, inputs, predictions, metrics)
        return model, dollars

    @app.post("/feedback")
    def feedback() -> Response:
        report: FeedbackRequest = validate_model(FeedbackRequest, json_body())
        served = predictions.served_prediction(report.request_id, report.row, settings.feedback_wait_seconds)
        if served is None:
            detail = ErrorDetail(
                field="request_id", message=f"no logged prediction {report.request_id} row {report.row}"
            )
            raise RequestError(404, "unknown prediction", [detail])
        predictions.record_feedback(report.request_id, report.row, report.actual_value)
        metrics.live_errors(predictions.live_errors(settings.live_window))
        result = FeedbackResult(
            request_id=report.request_id,
            row=report.row,
            model_version=served["model_version"],
            role=served["role"],
            prediction=served["prediction"],
            actual_value=report.actual_value,
            error=served["prediction"] - report.actual_value,
        )
        return answer(result)

    @app.get("/health")
    def health() -> Response:
        return answer(Health(status="ok"))

    @app.get("/ping")
    def ping() -> Response:
        """MLflow's scoring-server check, which its clients wait on: 200 once a model is loaded, else 404."""
        return Response("\n", 200 if champion.current is not None else 404, mimetype="application/json")

    @app.get("/version")
    def mlflow_version() -> Response:
        """The MLflow version this server speaks the scoring protocol of, as MLflow's own server answers."""
        return Response(mlflow.__version__, 200, mimetype="application/json")

    @app.get("/ready")
    def ready() -> Response:
        model = champion.current
        if model is None:
            return answer(Readiness(ready=False, problem=champion.problem), 503)
        return answer(Readiness(ready=True, model=model_ref(model)))

    @app.get("/model/info")
    def model_info() -> Response:
        return answer(ModelInfo.model_validate(serving_model(champion).info))

    @app.get("/predictions")
    def recent_predictions() -> Response:
        query: PredictionsQuery = validate_model(PredictionsQuery, request.args.to_dict())
        filters = HistoryFilters.model_validate(query.model_dump(exclude={"limit", "offset"}))
        total, rows = history.page(settings.prediction_db, filters, query.limit, query.offset)
        page = {"limit": query.limit, "offset": query.offset, "total": total, "predictions": rows}
        return answer(PredictionsPage.model_validate(page))

    @app.post("/admin/reload")
    def reload() -> Response:
        require_admin(settings)
        reloaded = champion.refresh()
        if challenger is not None:
            challenger.refresh()
        champion.request_reload()
        model = champion.current
        problem = None if model else champion.problem
        contender = challenger.current if challenger is not None else None
        result = ReloadResult(
            reloaded=reloaded,
            model=model_ref(model) if model else None,
            problem=problem,
            challenger=model_ref(contender) if contender else None,
        )
        return answer(result)

    @app.get("/drift")
    def served_drift() -> Response:
        model, result, problem = drift.measure()
        report = ServedDriftReport.model_validate(
            {**(result or {}), "model": model and model_ref(model), "problem": problem}
        )
        return answer(report)

    @app.post("/admin/retrain")
    def retrain() -> Response:
        require_admin(settings)
        options: RetrainRequest = validate_model(RetrainRequest, json_body() if request.content_length else {})
        retrainer.start(options.dry_run, options.force)
        return answer(RetrainStatus(running=retrainer.running(), last=retrainer.last()), 202)

    @app.get("/admin/retrain")
    def retrain_status() -> Response:
        require_admin(settings)
        return answer(RetrainStatus(running=retrainer.running(), last=retrainer.last()))

    @app.get("/openapi.json")
    def openapi() -> Response:
        return jsonify(openapi_document("housing-mlops serve", package_version()))

    @app.get("/")
    def index() -> str:
        fields = HousingRow.model_json_schema()["properties"]
        return render_template("index.html", fields=fields, model=champion.current)

    return app


def package_version() -> str:
    """The installed housing-mlops version; the serving image copies the code without installing it."""
    try:
        return version("housing-mlops")
    except PackageNotFoundError:
        return "unknown"


def elapsed_ms() -> float:
    return (time.perf_counter() - g.started) * 1000


def json_body() -> object:
    if not request.is_json:
        raise RequestError(
            415,
            "unsupported media type",
            [ErrorDetail(field="Content-Type", message=f"expected application/json (got {request.mimetype!r})")],
        )
    return parse_json(request.get_data(cache=False))


def client_key() -> str:
    """Who the client is, for a sticky traffic split: its X-Client-ID, else its address."""
    return request.headers.get("X-Client-ID") or request.remote_addr or ""


def model_ref(model: ServedModel) -> ModelRef:
    return ModelRef.of(model)


def require_admin(settings: Settings) -> None:
    if not settings.admin_token:
        detail = ErrorDetail(field="SERVE_ADMIN_TOKEN", message="not set on the server")
        raise RequestError(403, "admin endpoints are disabled", [detail])
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {settings.admin_token}".encode()):
        raise RequestError(401, "unauthorized", [ErrorDetail(field="Authorization", message="expected Bearer <token>")])
