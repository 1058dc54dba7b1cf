"""Drift of served traffic: the latest served inputs against the champion's own training data.

Every logged model carries a profile of the rows it was trained on (HousingFeatures.reference_), so
the server needs no copy of the training data: it compares the inputs of the latest `drift_window`
records it answered (from the prediction log, whichever worker logged them) with that profile, using
the model package's statistics (housing.drift) and the SERVE_DRIFT__* thresholds. Each worker
refreshes the gauges every `drift_seconds`; GET /drift computes them on demand. The retrain command
(ops.retrain) measures the same with `served_traffic_drift`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline

from housing.drift import DriftThresholds, Profile, compare
from housing.schema import RAW_COLUMNS
from serve.prediction_log import served_inputs
from serve.watcher import AliasWatcher, ServedModel

log = logging.getLogger(__name__)

Listener = Callable[[ServedModel, dict[str, Any]], None]


def training_profile(pipeline: Pipeline) -> Profile:
    """The profile of its training rows a model carries in its feature step (HousingFeatures.reference_)."""
    profile: Profile = pipeline[0].reference_
    return profile


def served_traffic_drift(
    reference: Profile, prediction_db: str | Path, window: int, thresholds: DriftThresholds
) -> dict[str, Any] | None:
    """Drift of the latest `window` inputs answered to clients from a training profile; None before any."""
    inputs = served_inputs(prediction_db, window)
    if not inputs:
        return None
    return compare(reference, pd.DataFrame(inputs, columns=RAW_COLUMNS), thresholds)


class ServedDrift:
    def __init__(self, champion: AliasWatcher, prediction_db: str, window: int, thresholds: DriftThresholds):
        self.champion, self.prediction_db, self.window, self.thresholds = champion, prediction_db, window, thresholds
        self._listeners: list[Listener] = []

    def on_update(self, listener: Listener) -> None:
        """Call `listener(model, result)` after every measurement."""
        self._listeners.append(listener)

    def measure(self) -> tuple[ServedModel | None, dict[str, Any] | None, str | None]:
        """(model, result, None), or (model, None, why not) when there is nothing to compare yet."""
        model = self.champion.current
        if model is None:
            return None, None, self.champion.problem
        result = served_traffic_drift(
            training_profile(model.pipeline), self.prediction_db, self.window, self.thresholds
        )
        if result is None:
            return model, None, "no served predictions logged yet"
        for listener in self._listeners:
            listener(model, result)
        return model, result, None

    def start(self, every_seconds: float) -> None:
        threading.Thread(target=self._measure_forever, args=(every_seconds,), name="served-drift", daemon=True).start()

    def _measure_forever(self, every_seconds: float) -> None:
        while True:
            time.sleep(every_seconds)
            try:
                self.measure()
            except Exception:  # a locked or missing log must not end the thread: try again next time
                log.exception("could not measure the drift of served traffic")
