"""The JSON endpoints the dashboard reads (and anyone may): summaries of the prediction log, its
export, the registry, the latest pipeline run's candidates, the MLP's losses and the system; with what
/openapi.json says about them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import mlflow
import numpy as np
from flask import Blueprint, Response, current_app, request, stream_with_context
from flask.blueprints import BlueprintSetupState

from serve import history
from serve.api_schemas import ModelRef, Readiness
from serve.dashboard import system, traffic
from serve.dashboard.registry import PipelineRun, Registry, RegistryModels, TrainingLoss
from serve.dashboard.system import SystemStatus
from serve.dashboard.traffic import AccuracyOverTime, AccuracyQuery, LiveSummary, SummaryQuery
from serve.drift import training_profile
from serve.errors import answer, validate_model
from serve.history import ExportQuery, HistoryFilters, LoggedPrediction
from serve.openapi import PathItem, errors, json_get, query_parameters, ref
from serve.parts import EXTENSION, parts

EXPORTS = {"csv": ("text/csv", history.export_csv), "json": ("application/json", history.export_json)}
REGISTRY = "housing_serve_registry"
"""The key of the dashboard's registry reader in app.extensions."""

blueprint = Blueprint("dashboard_api", __name__)


@blueprint.record_once
def read_the_registry(state: BlueprintSetupState) -> None:
    """One registry reader per app, on the tracking store and model its parts serve from."""
    served = state.app.extensions[EXTENSION]
    state.app.extensions[REGISTRY] = Registry(served.tracking_uri, served.settings.model_name)


def registry() -> Registry:
    found: Registry = current_app.extensions[REGISTRY]
    return found


@blueprint.get("/predictions/export")
def export() -> Response:
    """The filtered log, streamed: memory stays flat however many rows pass the filters."""
    query: ExportQuery = validate_model(ExportQuery, request.args.to_dict())
    mimetype, rows = EXPORTS[query.format]
    filters = HistoryFilters.model_validate(query.model_dump(exclude={"format"}))
    response = Response(stream_with_context(rows(parts().settings.prediction_db, filters)), mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename=predictions.{query.format}"
    return response


@blueprint.get("/predictions/summary")
def summary() -> Response:
    query: SummaryQuery = validate_model(SummaryQuery, request.args.to_dict())
    log = parts().settings.prediction_db
    now = datetime.now(UTC)
    answers = traffic.recent_answers(log, query.points, now - timedelta(minutes=query.minutes))
    model = parts().champion.current
    cells = training_profile(model.pipeline)["locations"] if model else []
    body = LiveSummary.model_validate(
        {
            "minutes": query.minutes,
            "per_minute": traffic.per_minute(log, query.minutes, now),
            "prices": traffic.price_histogram([answer["prediction"] for answer in answers]),
            "answers": answers,
            "california": np.asarray(cells).tolist(),
        }
    )
    return answer(body)


@blueprint.get("/predictions/accuracy")
def accuracy() -> Response:
    query: AccuracyQuery = validate_model(AccuracyQuery, request.args.to_dict())
    since = datetime.now(UTC) - timedelta(days=query.days)
    points = traffic.accuracy_over_time(parts().settings.prediction_db, query.bucket, since)
    return answer(AccuracyOverTime.model_validate({"bucket": query.bucket, "points": points}))


@blueprint.get("/models")
def models() -> Response:
    return answer(registry().versions())


@blueprint.get("/training/runs")
def training_runs() -> Response:
    return answer(registry().pipeline_run(parts().settings.mlflow_ui_url))


@blueprint.get("/training/loss")
def training_loss() -> Response:
    return answer(registry().training_loss())


@blueprint.get("/system")
def system_status() -> Response:
    served = parts()
    readiness = Readiness.of(served.champion)
    contender = served.challenger.current if served.challenger else None
    gpus, gpu_problem = system.gpus()
    host = system.host()
    body = SystemStatus(
        health="ok",
        ready=readiness.ready,
        model=readiness.model,
        challenger=ModelRef.of(contender) if contender else None,
        problem=readiness.problem,
        uptime_s=system.uptime_s(),
        workers=system.workers(),
        cpu_count=host["cpu_count"],
        load_average=host["load_average"],
        memory_total_mb=host["memory_total_mb"],
        memory_available_mb=host["memory_available_mb"],
        gpus=gpus,
        gpu_problem=gpu_problem,
        versions={"housing-mlops": served.version, "mlflow": mlflow.__version__, "python": host["python"]},
    )
    return answer(body)


def _export() -> PathItem:
    rows = {"type": "array", "items": ref(LoggedPrediction)}
    return {
        "get": {
            "summary": "Every logged prediction that passes the filters, streamed as CSV (inputs as columns) or JSON",
            "parameters": query_parameters(ExportQuery),
            "responses": {
                "200": {
                    "description": "An attachment, predictions.csv or predictions.json",
                    "content": {"text/csv": {"schema": {"type": "string"}}, "application/json": {"schema": rows}},
                },
                **errors("422"),
            },
        }
    }


PATHS: dict[str, PathItem] = {
    "/predictions/export": _export(),
    "/predictions/summary": json_get(
        "Served traffic of the last minutes: rate, prices, and where the latest answers are",
        LiveSummary,
        "422",
        parameters=query_parameters(SummaryQuery),
    ),
    "/predictions/accuracy": json_get(
        "Live RMSE and MAE from feedback per model version and role, over time",
        AccuracyOverTime,
        "422",
        parameters=query_parameters(AccuracyQuery),
    ),
    "/models": json_get("The registry's versions, aliases and registration scores", RegistryModels),
    "/training/runs": json_get(
        "The latest pipeline run's candidates side by side: params, val and test scores, the bootstrap interval"
        " against the selected one, fit time, device and telemetry, each linked to the MLflow UI",
        PipelineRun,
    ),
    "/training/loss": json_get("The latest MLP training run's per-epoch losses", TrainingLoss),
    "/system": json_get("Health, readiness, workers, memory and GPUs", SystemStatus),
}
"""The endpoints in /openapi.json."""
