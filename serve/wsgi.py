"""The WSGI entry point: `gunicorn -c serve/gunicorn.conf.py serve.wsgi:app`.

Gunicorn imports this module in each worker after forking (no --preload), so every worker builds
its own MLflow client, model, log writer and metrics. A worker takes requests only after its first
attempt to load the model; if that fails (registry unreachable, no champion yet) it serves anyway,
/ready answers 503 with the reason, and the watcher keeps retrying in the background. With
SERVE_CHALLENGER_MODE shadow or split, a second watcher keeps the challenger loaded the same way.
A third thread refreshes the drift gauges of served traffic every SERVE_DRIFT_SECONDS.
"""

from __future__ import annotations

import atexit
import logging
import sys

import mlflow

from serve.service import build_service
from serve.settings import Settings

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")

service = build_service(Settings(), mlflow.get_tracking_uri())  # MLFLOW_TRACKING_URI, else MLflow's default
atexit.register(service.predictions.close)
service.load()
service.start()
app = service.app
