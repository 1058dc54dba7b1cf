"""Champion and challenger: which model answers a request, and which one predicts in its shadow.

- off: the champion answers every request.
- shadow: the champion answers every request; once the response is sent, the challenger predicts
  the same records and its answers go only to the prediction log (role "shadow") and the metrics.
- split: the challenger answers a share of the clients. A client is its X-Client-ID header, or its
  address when it sends none; a stable hash of that key puts it at a point in [0, 1), and points
  below the share go to the challenger. So a client keeps its model, in every worker, for as long as
  the share stays the same, and raising the share only moves clients to the challenger.

A challenger that is absent or fails never fails a request: the champion answers instead, and
without a champion the API answers 503 (/ready is about the champion alone).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from flask import Response, after_this_request

from housing.features import RawColumns
from serve.errors import ErrorDetail, RequestError
from serve.metrics import ServeMetrics
from serve.prediction_log import PredictionLog, Role
from serve.settings import ChallengerMode
from serve.watcher import AliasWatcher, ServedModel

log = logging.getLogger(__name__)


def split_point(client_key: str) -> float:
    """Where a client falls in [0, 1): the same for a key in every process and every release."""
    digest = hashlib.blake2b(client_key.encode(), digest_size=8).digest()
    return int.from_bytes(digest) / 2**64


def serving_model(champion: AliasWatcher) -> ServedModel:
    """The loaded champion, or a 503 naming why there is none."""
    model = champion.current
    if model is None:
        raise RequestError(503, "no model loaded", [ErrorDetail(field="model", message=champion.problem)])
    return model


@dataclass(frozen=True)
class Route:
    """The model chosen to answer a request, in its role, and the champion to fall back on."""

    model: ServedModel
    role: Role
    champion: ServedModel

    def predict_dollars(self, columns: RawColumns) -> tuple[Route, np.ndarray]:
        """Predict with the chosen model; when a challenger raises, the champion answers instead."""
        if self.model is self.champion:
            return self, self.champion.predict_dollars(columns)
        try:
            return self, self.model.predict_dollars(columns)
        except Exception:
            log.exception("challenger v%s failed; the champion answers", self.model.version)
            return Route(self.champion, "champion", self.champion), self.champion.predict_dollars(columns)


class Router:
    def __init__(self, champion: AliasWatcher, challenger: AliasWatcher | None, mode: ChallengerMode, share: float):
        self.champion, self.challenger = champion, challenger if mode != "off" else None
        self.mode, self.share = mode, share

    def route(self, client_key: str) -> Route:
        """Who answers this client: the challenger for its share of clients in split mode, else the champion."""
        champion = serving_model(self.champion)
        challenger = self.challenger.current if self.challenger else None
        if self.mode == "split" and challenger and split_point(client_key) < self.share:
            return Route(challenger, "challenger", champion)
        return Route(champion, "champion", champion)

    def shadow(self) -> ServedModel | None:
        """The model that predicts in the shadow of each answer now: the loaded challenger in shadow mode."""
        return self.challenger.current if self.challenger and self.mode == "shadow" else None


def predict_in_shadow(
    model: ServedModel,
    columns: RawColumns,
    request_id: str,
    inputs: list[str],
    predictions: PredictionLog,
    metrics: ServeMetrics,
) -> None:
    """Have `model` predict the request's records after its response is sent, and only log the answers;
    nothing it raises reaches the client."""

    def predict() -> None:
        try:
            started = time.perf_counter()
            dollars = model.predict_dollars(columns)
            if not np.isfinite(dollars).all():
                log.warning("shadow v%s predicted non-finite values for request %s", model.version, request_id)
                return
            latency_ms = (time.perf_counter() - started) * 1000
            metrics.predicted(model, "shadow", dollars)
            predictions.record(
                request_id, model.name, model.version, inputs, dollars.tolist(), latency_ms, role="shadow"
            )
        except Exception:
            log.exception("shadow v%s failed on request %s", model.version, request_id)

    after_the_response(predict)


def check_fast_path(model: ServedModel, columns: RawColumns, answered: np.ndarray, metrics: ServeMetrics) -> None:
    """Once the response is sent, predict the request again by the pipeline and count any difference
    from what the fast path answered (np.array_equal: bit for bit)."""

    def check() -> None:
        try:
            again = model.pipeline_dollars(columns)
            metrics.fast_path_checked(model, len(answered), int(np.sum(again != answered)))
        except Exception:
            log.exception("the fast-path check of v%s failed", model.version)

    after_the_response(check)


def after_the_response(work: Callable[[], None]) -> None:
    """Run `work` from the response's close, which the WSGI server calls once the body is written, so
    the client never waits for it."""

    @after_this_request
    def after_sending(response: Response) -> Response:
        response.call_on_close(work)
        return response
