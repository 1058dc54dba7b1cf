"""The System page's figures as JSON: request rates, error counts and latency over a window
(/system/requests), the recent error answers of every worker (/system/errors), which alert rules
would fire now (/system/alerts), and whether a model is loaded (/system/ready); GET /system
(serve.dashboard.endpoints) has the host and processes.

Each app keeps its worker's metric snapshots (serve.dashboard.request_rates) in app.extensions. Under
gunicorn (PROMETHEUS_MULTIPROC_DIR set) a daemon thread takes them from the moment the app is built,
before the worker loads its model, so that its windows also cover what the other workers answered
meanwhile; in process (tests, `flask run`) only the reads take them, so no thread outlives a test's app.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from flask.blueprints import BlueprintSetupState
from pydantic import BaseModel, ConfigDict, Field

from serve.api_schemas import Readiness
from serve.dashboard.alerts import Alerts, alerts
from serve.dashboard.request_rates import Collect, RequestFigures, RequestSamples, WindowQuery, request_figures
from serve.errors import answer, validate_model
from serve.openapi import PathItem, json_get, query_parameters
from serve.parts import EXTENSION, parts
from serve.prediction_log import KEPT_ERRORS

SAMPLES = "housing_serve_request_samples"
"""The key of the app's RequestSamples in app.extensions."""

blueprint = Blueprint("dashboard_system", __name__)


@blueprint.record_once
def keep_samples(state: BlueprintSetupState) -> None:
    collect = Collect(state.app.extensions[EXTENSION].metrics.exporter.registry)
    samples = RequestSamples(collect)
    if collect.multiprocess:
        samples.start()
    state.app.extensions[SAMPLES] = samples


def samples() -> RequestSamples:
    found: RequestSamples = current_app.extensions[SAMPLES]
    return found


class ErrorsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=50, ge=1, le=KEPT_ERRORS, description="How many of the newest error answers.")


class LoggedError(BaseModel):
    created_at: str = Field(description="UTC, ISO 8601.")
    request_id: str = Field(description="The answer's X-Request-ID.")
    method: str
    path: str
    status: int
    error: str = Field(description="What the answer's body said went wrong (its `error`).")
    details: str = Field(description="The body's details, `field: message; ...`.")


class RecentErrors(BaseModel):
    kept: int = Field(description="The most error answers the log keeps (the newest).")
    errors: list[LoggedError] = Field(description="Newest first, from every worker and replica.")


@blueprint.get("/system/requests")
def requests_in_window() -> Response:
    query: WindowQuery = validate_model(WindowQuery, request.args.to_dict())
    return answer(request_figures(samples().take(), query.minutes))


@blueprint.get("/system/errors")
def recent_errors() -> Response:
    query: ErrorsQuery = validate_model(ErrorsQuery, request.args.to_dict())
    log = parts().predictions
    rows = log.recent_errors(query.limit)
    return answer(RecentErrors(kept=log.kept_errors, errors=[LoggedError.model_validate(dict(row)) for row in rows]))


@blueprint.get("/system/alerts")
def alerts_now() -> Response:
    return answer(alerts(samples().take()))


@blueprint.get("/system/ready")
def ready_for_pages() -> Response:
    """GET /ready for the pages: the same answer, always a 200, and left out of the service's figures, so
    that a page open on a server with no model neither logs a failed request nor counts as 5xx answers."""
    return answer(Readiness.of(parts().champion))


PATHS: dict[str, PathItem] = {
    "/system/requests": json_get(
        "Requests per second by status class, the 4xx and 5xx counts and p50/p95/p99 latency over a window",
        RequestFigures,
        "422",
        parameters=query_parameters(WindowQuery),
    ),
    "/system/errors": json_get(
        "The newest error answers (4xx and 5xx) of every worker, with their request ids",
        RecentErrors,
        "422",
        parameters=query_parameters(ErrorsQuery),
    ),
    "/system/alerts": json_get("Which rules of monitoring/alerts.yml would fire now, and why", Alerts),
    "/system/ready": json_get("What GET /ready answers, always with a 200: for the dashboard's pages", Readiness),
}
"""The endpoints in /openapi.json."""
