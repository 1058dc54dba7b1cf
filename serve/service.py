"""The server built from its settings: its parts (the alias watchers, the router, the prediction log,
the served-drift measurement, the metrics, the retrain launcher) and the app over them.

serve.wsgi builds one per gunicorn worker and starts its background threads; tests build one in
process and drive its app with Flask's test client.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from flask import Flask

from serve.app import create_app
from serve.drift import ServedDrift
from serve.metrics import ServeMetrics
from serve.parts import Parts
from serve.prediction_log import PredictionLog
from serve.retrain import RetrainLauncher
from serve.routing import Router
from serve.settings import Settings
from serve.tracking_store import create_store
from serve.watcher import AliasWatcher


@dataclass(frozen=True)
class Service:
    app: Flask
    parts: Parts

    @property
    def predictions(self) -> PredictionLog:
        """The prediction log, which whoever stops the service closes (it writes what is still queued)."""
        return self.parts.predictions

    def load(self) -> None:
        """One attempt to load each watched alias now (a failure leaves the reason for /ready)."""
        for watcher in self.parts.watchers():
            watcher.refresh()

    def start(self) -> None:
        """The background threads: alias polling for each watcher, and the drift gauges' refresh."""
        for watcher in self.parts.watchers():
            watcher.start()
        self.parts.drift.start(self.parts.settings.drift_seconds)


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
    metrics = ServeMetrics()
    metrics.follow(champion, challenger, drift)
    parts = Parts(
        settings=settings,
        tracking_uri=tracking_uri,
        version=package_version(),
        champion=champion,
        challenger=challenger,
        router=Router(champion, challenger, settings.challenger_mode, settings.challenger_share),
        predictions=predictions,
        drift=drift,
        metrics=metrics,
        retrainer=RetrainLauncher(settings.pipeline_dir, settings.prediction_db),
    )
    return Service(create_app(parts), parts)


def package_version() -> str:
    """The installed housing-mlops version; the serving image copies the code without installing it."""
    try:
        return version("housing-mlops")
    except PackageNotFoundError:
        return "unknown"
