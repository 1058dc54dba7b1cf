"""Drift of served traffic: the latest served inputs against the champion's own training data.

Every logged model carries a profile of the rows it was trained on (HousingFeatures.reference_), so
the server needs no copy of the training data: it compares the inputs of the latest `drift_window`
records it answered (from the prediction log, whichever worker logged them) with that profile, using
the pipeline's own statistics and params.yaml's `drift` thresholds (stages.distribution). Each
worker refreshes the gauges every `drift_seconds`; GET /drift computes them on demand.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from serve.champion import ChampionWatcher, ServedModel
from serve.prediction_log import served_inputs
from stages.distribution import compare
from stages.params import DriftParams
from stages.schema import FEATURES

log = logging.getLogger(__name__)

Listener = Callable[[ServedModel, dict[str, Any]], None]


class ServedDrift:
    def __init__(self, champion: ChampionWatcher, prediction_db: Path, window: int, params: DriftParams):
        self.champion, self.prediction_db, self.window, self.params = champion, prediction_db, window, params
        self._listeners: list[Listener] = []

    def on_update(self, listener: Listener) -> None:
        """Call `listener(model, result)` after every measurement."""
        self._listeners.append(listener)

    def measure(self) -> tuple[ServedModel | None, dict[str, Any] | None, str | None]:
        """(model, result, None), or (model, None, why not) when there is nothing to compare yet."""
        model = self.champion.current
        if model is None:
            return None, None, self.champion.problem
        reference = getattr(model.pipeline[0], "reference_", None)
        if reference is None:
            return model, None, f"version {model.version} carries no training profile (trained before drift monitoring)"
        inputs = served_inputs(self.prediction_db, self.window)
        if not inputs:
            return model, None, "no served predictions logged yet"
        result = compare(reference, pd.DataFrame(inputs, columns=FEATURES), self.params)
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
