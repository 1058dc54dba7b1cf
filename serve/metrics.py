"""Prometheus metrics: prometheus-flask-exporter's request metrics plus the model's own.

Prediction counts and live errors carry `model_version` and `role` (champion, challenger, shadow),
so the champion and a challenger are compared side by side.

Under gunicorn, `PROMETHEUS_MULTIPROC_DIR` (set before Python starts, by `make serve` or the image's
entrypoint) switches every metric to multiprocess files, so /metrics from any worker counts all of
them. Each service gets its own registry, so several in one process (tests) never clash.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np
from flask import Flask, Request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_flask_exporter import PrometheusMetrics
from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics

from serve.drift import ServedDrift
from serve.prediction_log import LiveError, Role
from serve.watcher import AliasWatcher, ServedModel

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
PRICE_BUCKETS = (50_000, 100_000, 150_000, 200_000, 250_000, 300_000, 350_000, 400_000, 500_000, 750_000, 1_000_000)
PREFIXED_ENDPOINTS = ("dashboard", "dashboard_api", "dashboard_system")
"""Blueprints whose views keep their blueprint's name in the `endpoint` label (`dashboard.page`)."""


def endpoint(request: Request) -> str | None:
    """The `endpoint` label of the request metrics: the view's own name (`predict`, `invocations`: what
    monitoring/alerts.yml and the Grafana board select), or for the dashboard's, Flask's full endpoint."""
    name = request.endpoint
    if name is None or request.blueprint in PREFIXED_ENDPOINTS:
        return name
    return name.rpartition(".")[2]


class ServeMetrics:
    """The metrics of one service: created with it, attached to its app by `init_app`."""

    def __init__(self) -> None:
        registry = CollectorRegistry()
        exporter = GunicornInternalPrometheusMetrics if "PROMETHEUS_MULTIPROC_DIR" in os.environ else PrometheusMetrics
        self.exporter = exporter(app=None, registry=registry, group_by=endpoint, buckets=LATENCY_BUCKETS)
        self.predictions = Counter(
            "housing_predictions_total", "Records predicted.", ["model_version", "role"], registry=registry
        )
        self.fast_checks = Counter(
            "housing_fast_path_checks_total",
            "Fast-path predictions predicted again by the pipeline (a sampled share of requests).",
            ["model_version"],
            registry=registry,
        )
        self.fast_mismatches = Counter(
            "housing_fast_path_mismatches_total",
            "Of those, predictions where the fast path and the pipeline differ in any bit.",
            ["model_version"],
            registry=registry,
        )
        self.predicted_value = Histogram(
            "housing_predicted_value_dollars",
            "Predicted median house values returned to clients.",
            buckets=PRICE_BUCKETS,
            registry=registry,
        )
        self.model_info = Gauge(
            "housing_model_info",
            "1 for the model versions a worker serves (under each alias), 0 for versions it served before.",
            ["model_name", "model_version", "alias", "run_id"],
            multiprocess_mode="livemax",
            registry=registry,
        )
        live = functools.partial(
            Gauge, labelnames=["model_version", "role"], multiprocess_mode="mostrecent", registry=registry
        )
        self.live_rmse = live("housing_live_rmse_dollars", "RMSE of recent predictions against feedback.")
        self.live_mae = live("housing_live_mae_dollars", "MAE of recent predictions against feedback.")
        self.live_count = live("housing_live_feedback_count", "Feedback reports live errors cover.")
        drift = functools.partial(Gauge, multiprocess_mode="mostrecent", registry=registry)
        self.drift_psi = drift(
            "housing_served_drift_psi",
            "PSI of served inputs against the champion's training data.",
            ["feature"],
        )
        self.drift_p_value = drift(
            "housing_served_drift_p_value",
            "p-value of the feature's two-sample test (KS or chi-square).",
            ["feature"],
        )
        self.drift_detected = drift(
            "housing_served_drift_detected",
            "1 when the feature is beyond params.yaml's drift thresholds.",
            ["feature"],
        )
        self.drifted_features = drift("housing_served_drifted_features", "Features of served traffic that drifted.")
        self.drift_rows = drift("housing_served_drift_rows", "Latest served rows the drift gauges cover.")
        self.model_version = Gauge(
            "housing_model_version", "Version of the served champion.", multiprocess_mode="livemax", registry=registry
        )

    def init_app(self, app: Flask) -> None:
        """Time and count the app's requests, and answer GET /metrics."""
        self.exporter.init_app(app)

    def follow(self, champion: AliasWatcher, challenger: AliasWatcher | None, drift: ServedDrift) -> None:
        """Keep the model gauges on the watchers' swaps and the drift gauges on every drift measurement."""
        champion.on_swap(self.champion_swapped)
        if challenger is not None:
            challenger.on_swap(self.model_swapped)
        drift.on_update(self.served_drift)

    def live_errors(self, errors: list[LiveError]) -> None:
        """Live accuracy per model version and role, from the latest feedback (any worker may have set it last).

        Every worker sets every version and role the log has feedback for, those outside the window to
        NaN with count 0, so the most recent write (the gauges' multiprocess mode) is never a stale figure.
        """
        for error in errors:
            labels = (str(error.model_version), error.role)
            self.live_rmse.labels(*labels).set(error.rmse)
            self.live_mae.labels(*labels).set(error.mae)
            self.live_count.labels(*labels).set(error.count)

    def served_drift(self, model: ServedModel, result: dict[str, Any]) -> None:
        """Drift of the latest served inputs per feature (housing.drift.compare's result)."""
        for feature, figures in result["features"].items():
            self.drift_psi.labels(feature).set(figures["psi"])
            self.drift_detected.labels(feature).set(int(figures["drifted"]))
            if figures["p_value"] is not None:
                self.drift_p_value.labels(feature).set(figures["p_value"])
        self.drifted_features.set(result["drifted_count"])
        self.drift_rows.set(result["rows"])

    def model_swapped(self, previous: ServedModel | None, current: ServedModel | None) -> None:
        """A watcher swapped models, or dropped its model (current None): housing_model_info follows."""
        if previous is not None:
            self._info(previous).set(0)
        if current is not None:
            self._info(current).set(1)

    def champion_swapped(self, previous: ServedModel | None, current: ServedModel | None) -> None:
        self.model_swapped(previous, current)
        if current is not None:
            self.model_version.set(current.version)

    def predicted(self, model: ServedModel, role: Role, dollars: np.ndarray) -> None:
        """Count predictions; only those returned to clients (not a shadow's) go in the value histogram."""
        self.predictions.labels(str(model.version), role).inc(len(dollars))
        if role != "shadow":
            for value in dollars:
                self.predicted_value.observe(value)

    def fast_path_checked(self, model: ServedModel, predictions: int, mismatches: int) -> None:
        self.fast_checks.labels(str(model.version)).inc(predictions)
        self.fast_mismatches.labels(str(model.version)).inc(mismatches)

    def _info(self, model: ServedModel) -> Gauge:
        return self.model_info.labels(model.name, str(model.version), model.alias, model.run_id or "")
