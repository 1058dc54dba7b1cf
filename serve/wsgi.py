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

from serve.app import create_app
from serve.champion import ChampionWatcher
from serve.drift import ServedDrift
from serve.prediction_log import PredictionLog
from serve.retrain import RetrainLauncher
from serve.settings import Settings, drift_params

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")

settings = Settings()
predictions = PredictionLog(settings.prediction_db, settings.retention_days)
atexit.register(predictions.close)
reload_marker = settings.prediction_db.with_suffix(".reload")


def watcher(alias: str, optional: bool = False) -> ChampionWatcher:
    return ChampionWatcher(
        settings.model_name, alias, settings.poll_seconds, settings.retry_seconds, reload_marker, optional
    )


champion = watcher(settings.model_alias)
challenger = watcher(settings.challenger_alias, optional=True) if settings.challenger_mode != "off" else None
drift = ServedDrift(champion, settings.prediction_db, settings.drift_window, drift_params())
retrainer = RetrainLauncher(settings.pipeline_dir, settings.prediction_db)
app = create_app(settings, champion, predictions, drift, retrainer, challenger)
for watching in filter(None, (champion, challenger)):
    watching.refresh()
    watching.start()
drift.start(settings.drift_seconds)
