"""The server's parts wired together from its settings: the app, the alias watchers, the prediction
log, the served-drift measurement and the retrain launcher.

serve.wsgi builds one per gunicorn worker and starts its background threads; tests build one in
process and drive its app with Flask's test client.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from serve.app import create_app
from serve.drift import ServedDrift
from serve.prediction_log import PredictionLog
from serve.registry import Registry, create_store
from serve.retrain import RetrainLauncher
from serve.settings import Settings
from serve.watcher import AliasWatcher


@dataclass
class Service:
    app: Flask
    settings: Settings
    predictions: PredictionLog
    champion: AliasWatcher
    challenger: AliasWatcher | None
    drift: ServedDrift

    def watchers(self) -> list[AliasWatcher]:
        return [watcher for watcher in (self.champion, self.challenger) if watcher is not None]

    def load(self) -> None:
        """One attempt to load each watched alias now (a failure leaves the reason for /ready)."""
        for watcher in self.watchers():
            watcher.refresh()

    def start(self) -> None:
        """The background threads: alias polling for each watcher, and the drift gauges' refresh."""
        for watcher in self.watchers():
            watcher.start()
        self.drift.start(self.settings.drift_seconds)


def build_service(settings: Settings, tracking_uri: str) -> Service:
    """Every part from `settings`, the models from the registry at `tracking_uri`; nothing loaded yet."""
    create_store(tracking_uri)
    predictions = PredictionLog(settings.prediction_db, settings.retention_days)
    reload_marker = settings.reload_marker()

    def watcher(alias: str, optional: bool = False) -> AliasWatcher:
        return AliasWatcher(
            settings.model_name,
            alias,
            tracking_uri,
            settings.poll_seconds,
            settings.retry_seconds,
            reload_marker,
            optional,
        )

    champion = watcher(settings.model_alias)
    challenger = watcher(settings.challenger_alias, optional=True) if settings.challenger_mode != "off" else None
    drift = ServedDrift(champion, settings.prediction_db, settings.drift_window, settings.drift)
    retrainer = RetrainLauncher(settings.pipeline_dir, settings.prediction_db)
    registry = Registry(tracking_uri, settings.model_name)
    app = create_app(settings, champion, predictions, drift, retrainer, registry, challenger)
    return Service(app, settings, predictions, champion, challenger, drift)
