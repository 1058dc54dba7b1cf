"""The WSGI entry point: `gunicorn -c serve/gunicorn.conf.py serve.wsgi:app`.

Gunicorn imports this module in each worker after forking (no --preload), so every worker builds
its own MLflow client, model, log writer and metrics. A worker takes requests only after its first
attempt to load the model; if that fails (registry unreachable, no champion yet) it serves anyway,
/ready answers 503 with the reason, and the watcher keeps retrying in the background. With
SERVE_CHALLENGER_MODE shadow or split, a second watcher keeps the challenger loaded the same way.
"""

from __future__ import annotations

import atexit
import logging
import sys

from serve.app import create_app
from serve.champion import ChampionWatcher
from serve.prediction_log import PredictionLog
from serve.settings import Settings

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
app = create_app(settings, champion, predictions, challenger)
for watching in filter(None, (champion, challenger)):
    watching.refresh()
    watching.start()
