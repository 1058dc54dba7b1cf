"""The server's parts as its views reach them: create_app keeps one `Parts` in app.extensions, and a
view takes it with `parts()`, so no route is a closure over its collaborators."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from serve.drift import ServedDrift
from serve.metrics import ServeMetrics
from serve.prediction_log import PredictionLog
from serve.retrain import RetrainLauncher
from serve.routing import Router
from serve.settings import Settings
from serve.watcher import AliasWatcher

EXTENSION = "housing_serve"
"""The key of the parts in app.extensions."""


@dataclass(frozen=True)
class Parts:
    """What the views work with, built once per worker by serve.service."""

    settings: Settings
    tracking_uri: str
    version: str
    """The housing-mlops version this server runs (in /openapi.json and /system)."""
    champion: AliasWatcher
    challenger: AliasWatcher | None
    router: Router
    predictions: PredictionLog
    drift: ServedDrift
    metrics: ServeMetrics
    retrainer: RetrainLauncher

    def watchers(self) -> list[AliasWatcher]:
        return [watcher for watcher in (self.champion, self.challenger) if watcher is not None]


def parts() -> Parts:
    """The parts of the app handling the current request."""
    found: Parts = current_app.extensions[EXTENSION]
    return found
