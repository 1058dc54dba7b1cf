"""The JSON endpoints the dashboard reads (and anyone may): summaries of the prediction log, exports,
the registry, the MLP's losses and the system. They are in /openapi.json like the rest of the API.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import mlflow
import numpy as np
from flask import Blueprint, Response, request, stream_with_context

from serve import history, system
from serve.drift import training_profile
from serve.payloads import (
    AccuracyOverTime,
    AccuracyQuery,
    ExportQuery,
    HistoryFilters,
    LiveSummary,
    ModelRef,
    SummaryQuery,
    SystemStatus,
    answer,
    validate_model,
)
from serve.registry import Registry
from serve.settings import Settings
from serve.watcher import AliasWatcher

EXPORTS = {"csv": ("text/csv", history.export_csv), "json": ("application/json", history.export_json)}


def dashboard_api(
    settings: Settings, champion: AliasWatcher, challenger: AliasWatcher | None, registry: Registry, app_version: str
) -> Blueprint:
    api = Blueprint("dashboard_api", __name__)
    log = settings.prediction_db

    @api.get("/predictions/export")
    def export() -> Response:
        """The filtered log, streamed: memory stays flat however many rows pass the filters."""
        query: ExportQuery = validate_model(ExportQuery, request.args.to_dict())
        mimetype, rows = EXPORTS[query.format]
        filters = HistoryFilters.model_validate(query.model_dump(exclude={"format"}))
        response = Response(stream_with_context(rows(log, filters)), mimetype=mimetype)
        response.headers["Content-Disposition"] = f"attachment; filename=predictions.{query.format}"
        return response

    @api.get("/predictions/summary")
    def summary() -> Response:
        query: SummaryQuery = validate_model(SummaryQuery, request.args.to_dict())
        now = datetime.now(UTC)
        answers = history.recent_answers(log, query.points, now - timedelta(minutes=query.minutes))
        model = champion.current
        profile = training_profile(model.pipeline) if model else None
        cells = profile.get("locations", []) if profile else []  # models from before it have no locations
        body = LiveSummary.model_validate(
            {
                "minutes": query.minutes,
                "per_minute": history.per_minute(log, query.minutes, now),
                "prices": history.price_histogram([answer["prediction"] for answer in answers]),
                "answers": answers,
                "california": np.asarray(cells).tolist(),
            }
        )
        return answer(body)

    @api.get("/predictions/accuracy")
    def accuracy() -> Response:
        query: AccuracyQuery = validate_model(AccuracyQuery, request.args.to_dict())
        since = datetime.now(UTC) - timedelta(days=query.days)
        points = history.accuracy_over_time(log, query.bucket, since)
        return answer(AccuracyOverTime.model_validate({"bucket": query.bucket, "points": points}))

    @api.get("/models")
    def models() -> Response:
        return answer(registry.versions())

    @api.get("/training/loss")
    def training_loss() -> Response:
        return answer(registry.training_loss())

    @api.get("/system")
    def system_status() -> Response:
        model = champion.current
        contender = challenger.current if challenger else None
        gpus, gpu_problem = system.gpus()
        host = system.host()
        body = SystemStatus(
            health="ok",
            ready=model is not None,
            model=ModelRef.of(model) if model else None,
            challenger=ModelRef.of(contender) if contender else None,
            problem=None if model else champion.problem,
            uptime_s=system.uptime_s(),
            workers=system.workers(),
            cpu_count=host["cpu_count"],
            load_average=host["load_average"],
            memory_total_mb=host["memory_total_mb"],
            memory_available_mb=host["memory_available_mb"],
            gpus=gpus,
            gpu_problem=gpu_problem,
            versions={"housing-mlops": app_version, "mlflow": mlflow.__version__, "python": host["python"]},
        )
        return answer(body)

    return api
