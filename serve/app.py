"""The Flask app: `create_app(parts)` registers the server's rooms (the public API, MLflow's scoring
protocol, admin, the dashboard), the error handlers, the request log and the metrics, and keeps the
parts in app.extensions, where the views find them (serve.parts).

serve.service builds the parts from the settings; which model answers a request, champion or
challenger, is serve.routing's business.
"""

from __future__ import annotations

from flask import Flask

from serve import admin, api, dashboard, errors, mlflow_api, request_log
from serve.openapi import openapi_document
from serve.parts import EXTENSION, Parts

ROOMS = (api.ROOM, mlflow_api.ROOM, admin.ROOM, dashboard.ROOM)
OWN_RULES = {"/metrics": "Prometheus' text format (serve.metrics)"}
"""The app's rules outside its rooms, and why /openapi.json leaves them out."""


def create_app(parts: Parts) -> Flask:
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = parts.settings.max_body_bytes
    app.extensions[EXTENSION] = parts
    app.extensions[api.OPENAPI] = openapi_document("housing-mlops serve", parts.version, ROOMS)
    parts.metrics.init_app(app)
    request_log.init_app(app)
    errors.init_app(app)
    for room in ROOMS:
        for blueprint in room.blueprints:
            app.register_blueprint(blueprint)
    return app


def undocumented() -> dict[str, str]:
    """Every rule /openapi.json leaves out on purpose, with the reason (a test holds the URL map to it)."""
    return {**OWN_RULES, **{rule: reason for room in ROOMS for rule, reason in room.undocumented.items()}}
