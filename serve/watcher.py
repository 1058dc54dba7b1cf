"""The served models: the version a registry alias names, loaded once per worker and swapped live.

Predictions run the logged scikit-learn pipeline (`PyFuncModel.get_raw_model()`), the exact object
evaluate scored through pyfunc, minus pyfunc's per-call schema enforcement, which the request's
pydantic validation already does; with one thread per estimator, as each worker predicts one
request at a time. Where the pipeline has a fast path (housing.fast) that proves bit-exact on the
golden set shipped with the model, the fast path predicts instead; /model/info says which serves.
A version whose model names code this checkout lacks is refused with the retrain that replaces it
(IncompatibleModel), the reason /ready gives with its 503.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.pyfunc import PyFuncModel  # mlflow.pyfunc is a LazyLoader to type checkers
from mlflow.tracking import MlflowClient

from housing.fast import FastPath, NoFastPath, fast_path, prove, single_threaded
from housing.features import RawColumns
from housing.golden import GOLDEN_FILE
from housing.schema import TARGET_SCALE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServedModel:
    """One loaded model version and what /model/info says about it."""

    name: str
    version: int
    alias: str
    run_id: str | None
    pipeline: Any = field(repr=False)
    info: dict[str, Any] = field(repr=False)
    fast: FastPath | None = field(default=None, repr=False)

    def predict_dollars(self, raw: RawColumns) -> np.ndarray:
        """Predicted median house value in dollars for each raw row, by the fast path where it is proven."""
        predict = self.fast.predict if self.fast else self.pipeline.predict
        return np.asarray(predict(raw), dtype=float).ravel() * TARGET_SCALE

    def pipeline_dollars(self, raw: RawColumns) -> np.ndarray:
        """The same prediction the slow way, by the pipeline's predict (a check on the fast path)."""
        return np.asarray(self.pipeline.predict(raw), dtype=float).ravel() * TARGET_SCALE


Listener = Callable[[ServedModel | None, ServedModel | None], None]
"""Told (previous, current) when a watcher swaps models."""


class IncompatibleModel(Exception):
    """A registered version whose model names code this checkout lacks (a module, or a name in one): the
    refusal the server gives for it (a 503 from /ready, the champion's `problem`) and the retrain
    command's reason to replace it."""

    def __init__(self, name: str, version: int, detail: str):
        super().__init__(
            f"{name} v{version} was trained by an incompatible version of housing-mlops ({detail}; this server"
            " runs the model package `housing`): retrain and register a new champion with `make repro`"
            " (or `dvc repro` where the pipeline runs), then POST /admin/reload"
        )


Loaded = tuple[PyFuncModel, pd.DataFrame | None]


def load_pipeline(client: MlflowClient, name: str, version: int) -> Loaded:
    """Load one registered version and its golden set (None when registered without one); a version
    whose model names code this checkout lacks is an IncompatibleModel.

    The artifacts are fetched from where the registry says they are, with this client's store, so no
    process-wide MLflow setting is involved.
    """
    location = client.get_model_version_download_uri(name, str(version))
    with tempfile.TemporaryDirectory(prefix="model-") as scratch:
        local = mlflow.artifacts.download_artifacts(location, dst_path=scratch, tracking_uri=client.tracking_uri)
        try:
            model = mlflow.pyfunc.load_model(local)
        except (ImportError, AttributeError) as error:
            raise IncompatibleModel(name, version, f"it cannot be loaded: {_one_line(error)}") from error
        golden_file = Path(local) / GOLDEN_FILE
        golden = pd.read_parquet(golden_file) if golden_file.is_file() else None
    return model, golden


def proven_fast_path(pipeline: Any, golden: pd.DataFrame | None) -> tuple[FastPath | None, dict[str, Any]]:
    """The pipeline's fast path if it is bit-exact on the golden set, and what /model/info says about it."""
    if golden is None:
        return None, {"serving": "pipeline", "reason": f"the model was registered without {GOLDEN_FILE}"}
    try:
        path = fast_path(pipeline)
    except NoFastPath as error:
        return None, {"serving": "pipeline", "reason": str(error)}
    try:
        proof = prove(path, pipeline, golden)
    except Exception as error:  # a pipeline failing on its own golden rows fails on requests too: say why here
        return None, {"serving": "pipeline", "reason": f"the golden check failed: {_one_line(error)}"}
    check = {"exact": proof.exact, "golden_rows": proof.rows, "single_rows": proof.single_rows, "detail": proof.detail}
    if not proof.exact:
        log.warning("%s: the fast path is not exact, the pipeline serves", proof.detail)
        return None, {"serving": "pipeline", "reason": proof.detail, "check": check}
    return path, {"serving": "fast", "kernels": path.kernels, "check": check}


def load_version(client: MlflowClient, name: str, alias: str) -> ServedModel:
    """Load the version `alias` names now, with its registration tags and logged metadata."""
    version = client.get_model_version_by_alias(name, alias)
    model, golden = load_pipeline(client, name, int(version.version))
    pipeline = single_threaded(model.get_raw_model())
    fast, prediction_path = proven_fast_path(pipeline, golden)
    metadata = model.metadata
    info = {
        "name": name,
        "version": int(version.version),
        "alias": alias,
        "run_id": version.run_id,
        "source": version.source,
        "registered_at": datetime.fromtimestamp(version.creation_timestamp / 1000, UTC).isoformat(),
        "registration_tags": dict(version.tags),
        "model_metadata": metadata.metadata or {},
        "input_schema": metadata.get_input_schema().to_dict() if metadata.signature else None,
        "prediction_path": prediction_path,
    }
    return ServedModel(name, int(version.version), alias, version.run_id, pipeline, info, fast)


class AliasWatcher:
    """Keeps the version that the alias names loaded: retries until it can, then polls for a new one.

    A new version is loaded beside the old one and swapped in with a single assignment, so requests
    in flight finish on the old model and none fails during the swap. `request_reload()` asks every
    worker sharing `reload_marker` to check now rather than at the next poll.

    When the alias disappears from the registry, the champion's last version keeps serving (a deleted
    alias must not take the API down), while an `optional` alias's model (the challenger, whose alias
    promotion removes) is dropped.
    """

    def __init__(
        self,
        name: str,
        alias: str,
        tracking_uri: str,
        poll_seconds: float,
        retry_seconds: float,
        reload_marker: Path,
        optional: bool = False,
    ):
        self.name, self.alias, self.tracking_uri, self.optional = name, alias, tracking_uri, optional
        self.poll_seconds, self.retry_seconds = poll_seconds, retry_seconds
        self.reload_marker = reload_marker
        self.current: ServedModel | None = None
        self.problem = "the model has not been loaded yet"
        self._logged_problem: str | None = None
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def on_swap(self, listener: Listener) -> None:
        """Call `listener(previous, current)` on every swap, and now if a model is already loaded.

        `current` is None when an optional alias's model is dropped.
        """
        self._listeners.append(listener)
        if self.current is not None:
            listener(None, self.current)

    def refresh(self) -> bool:
        """Load the aliased version if it differs from the served one; True when a new one was swapped in."""
        with self._lock:
            try:
                client = MlflowClient(self.tracking_uri, self.tracking_uri)
                wanted = client.get_registered_model(self.name).aliases.get(self.alias)
                if wanted is None:
                    self._alias_missing()
                    return False
                if self.current is not None and self.current.version == int(wanted):
                    return False
                loaded = load_version(client, self.name, self.alias)
            except IncompatibleModel as error:
                self._report(f"cannot serve models:/{self.name}@{self.alias}: {error}")
                return False
            except Exception as error:  # registry down, model missing, artifacts unreadable: keep serving
                self._report(f"cannot load models:/{self.name}@{self.alias}: {_one_line(error)}")
                return False
            self._swap(loaded)
            return True

    def _alias_missing(self) -> None:
        self._report(f"cannot load models:/{self.name}@{self.alias}: {self.name} has no alias {self.alias!r}")
        if self.optional and self.current is not None:
            self._swap(None)

    def _report(self, problem: str) -> None:
        """Keep the problem for /ready; log it once, not at every retry (a challenger may be absent for days)."""
        if problem != self._logged_problem:
            log.warning(problem)
        self.problem = self._logged_problem = problem

    def _swap(self, loaded: ServedModel | None) -> None:
        previous, self.current = self.current, loaded
        if loaded is not None:
            self._logged_problem = None
        log.info("%s@%s: serving %s (was %s)", self.name, self.alias, _version(loaded), _version(previous))
        for listener in self._listeners:
            listener(previous, loaded)

    def request_reload(self) -> None:
        self.reload_marker.parent.mkdir(parents=True, exist_ok=True)
        self.reload_marker.touch()

    def start(self) -> None:
        threading.Thread(target=self._watch, name=f"{self.alias}-watcher", daemon=True).start()

    def _watch(self) -> None:
        marker_seen = self._marker_time()
        next_check = 0.0
        while True:
            now = time.monotonic()
            marker = self._marker_time()
            if now >= next_check or marker != marker_seen:
                marker_seen = marker
                self.refresh()
                next_check = now + (self.poll_seconds if self.current else self.retry_seconds)
            time.sleep(min(1.0, self.retry_seconds))

    def _marker_time(self) -> int | None:
        try:
            return self.reload_marker.stat().st_mtime_ns
        except FileNotFoundError:
            return None


def _version(model: ServedModel | None) -> str:
    return f"v{model.version}" if model else "nothing"


def _one_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"
