"""Request rates, error counts and latency percentiles over a window, from the server's own Prometheus
metrics, so the System page has them without a Prometheus server.

prometheus-flask-exporter already counts and times every request (flask_http_request_duration_seconds,
a histogram by method, status and endpoint). Those are cumulative counters, and a window needs their
difference between two moments, so each worker keeps snapshots (`Sample`): a daemon thread takes one
every SAMPLE_SECONDS under gunicorn, every read takes one too, and snapshots older than the longest
window anyone reads are dropped. Under gunicorn the counters come from every worker's multiprocess
files (prometheus_client's MultiProcessCollector), so any worker's figures count all of them; outside
it (tests, `flask run`) from the service's own registry. One sample of a 2-worker server's files
(10 files, about 100 series) took 1 ms of one core here (timeit, 200 samples), which every 5 s is noise.

A worker only knows the moments it has sampled: one started two minutes ago covers two minutes of a
15-minute window, and the answer says so (`covered_s`) rather than stretching the figures.
Percentiles are estimated from the histogram's buckets the way PromQL's histogram_quantile does, by
linear interpolation inside the bucket the rank falls in, so they are bounded by the buckets
(serve.metrics.LATENCY_BUCKETS): a p99 beyond the last finite bucket is reported as that bucket's bound.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise

from prometheus_client import CollectorRegistry, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from pydantic import BaseModel, ConfigDict, Field, field_validator

from serve.metrics import PREFIXED_ENDPOINTS

WINDOWS_MINUTES = (1, 5, 15, 60)
SAMPLE_SECONDS = 5.0
KEPT_SECONDS = max(WINDOWS_MINUTES) * 60 + 2 * SAMPLE_SECONDS
"""Snapshots older than the longest window (the page's 60 minutes; the alerts read 30 at most) go."""
KEEP_SPACING = SAMPLE_SECONDS / 2
"""Closest two kept snapshots may be: reads between the sampler's take one for now without keeping it."""
MAX_POINTS = 60
"""Most intervals a time series is drawn with: a longer window joins consecutive snapshots."""
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx")
PREDICTION_ENDPOINTS = ("predict", "invocations")
"""The endpoints monitoring/alerts.yml's prediction latency rule selects."""
REQUESTS = "flask_http_request_duration_seconds"


@dataclass(frozen=True)
class Sample:
    """The cumulative figures at one moment: request counts and latency buckets, and the model gauges
    the alerts read."""

    at: float
    """time.time() of the snapshot (wall clock: answers show when each point was)."""
    api: dict[str, float] = field(default_factory=dict)
    """Requests by status class, the dashboard's own left out."""
    every: dict[str, float] = field(default_factory=dict)
    """Requests by status class, every endpoint (what the alert rules count)."""
    api_buckets: dict[float, float] = field(default_factory=dict)
    """Cumulative latency buckets (upper bound in seconds: count) of `api`'s requests."""
    prediction_buckets: dict[float, float] = field(default_factory=dict)
    predictions: float = 0.0
    model_version: float | None = None
    live_rmse: float | None = None
    """The highest live RMSE of a model answering clients (not a shadow), when feedback measures one."""
    drifted_features: float | None = None


def status_class(status: str) -> str:
    return f"{status[:1]}xx"


def is_dashboard(endpoint: str) -> bool:
    """The dashboard's own pages and JSON endpoints (serve.metrics keeps their blueprint's name)."""
    return endpoint.partition(".")[0] in PREFIXED_ENDPOINTS


def add(totals: dict, key: object, value: float) -> None:
    totals[key] = totals.get(key, 0.0) + value


def sample_of(metrics: Iterable[Metric], at: float) -> Sample:
    """The figures a Sample keeps, summed from prometheus_client's collected metric families."""
    api: dict[str, float] = {}
    every: dict[str, float] = {}
    api_buckets: dict[float, float] = {}
    prediction_buckets: dict[float, float] = {}
    predictions = 0.0
    gauges: dict[str, list[tuple[dict[str, str], float]]] = {}
    for metric in metrics:
        for sample in metric.samples:
            labels, value = sample.labels, sample.value
            if sample.name == f"{REQUESTS}_count":
                add(every, status_class(labels["status"]), value)
                if not is_dashboard(labels["endpoint"]):
                    add(api, status_class(labels["status"]), value)
            elif sample.name == f"{REQUESTS}_bucket":
                if not is_dashboard(labels["endpoint"]):
                    add(api_buckets, float(labels["le"]), value)
                if labels["endpoint"] in PREDICTION_ENDPOINTS:
                    add(prediction_buckets, float(labels["le"]), value)
            elif sample.name == "housing_predictions_total":
                predictions += value
            elif metric.type == "gauge":
                gauges.setdefault(sample.name, []).append((labels, value))
    rmse = [value for labels, value in gauges.get("housing_live_rmse_dollars", []) if labels["role"] != "shadow"]
    return Sample(
        at,
        api,
        every,
        api_buckets,
        prediction_buckets,
        predictions,
        model_version=highest(value for _, value in gauges.get("housing_model_version", [])),
        live_rmse=highest(rmse),
        drifted_features=highest(value for _, value in gauges.get("housing_served_drifted_features", [])),
    )


def highest(values: Iterable[float]) -> float | None:
    """The largest of the values that are numbers (a gauge no one has set reads NaN), or None."""
    numbers = [value for value in values if not math.isnan(value)]
    return max(numbers) if numbers else None


def increase(later: float, earlier: float) -> float:
    """A counter's increase; one lower than before was restarted, and counts from zero (as PromQL's)."""
    return later - earlier if later >= earlier else later


def increases(later: dict, earlier: dict) -> dict:
    return {key: increase(value, earlier.get(key, 0.0)) for key, value in later.items()}


def quantile(q: float, buckets: dict[float, float]) -> float | None:
    """PromQL's histogram_quantile over cumulative buckets (upper bound: count, +Inf included): None
    without observations; inside a bucket, linear interpolation; in the +Inf bucket, the highest finite
    bound (all a histogram can say is "at least")."""
    bounds = sorted(buckets)
    total = buckets.get(math.inf, 0.0)
    if total <= 0 or len(bounds) < 2:
        return None
    rank = q * total
    index = next(i for i, bound in enumerate(bounds) if buckets[bound] >= rank)
    if bounds[index] == math.inf:
        return bounds[-2]
    lower = bounds[index - 1] if index > 0 else 0.0
    below = buckets[bounds[index - 1]] if index > 0 else 0.0
    inside = buckets[bounds[index]] - below
    return lower + (bounds[index] - lower) * ((rank - below) / inside if inside else 1.0)


class Collect:
    """Reads the current metric families: every worker's multiprocess files under gunicorn
    (PROMETHEUS_MULTIPROC_DIR), else the given registry."""

    def __init__(self, own: CollectorRegistry):
        directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if directory:
            self.registry = CollectorRegistry()
            MultiProcessCollector(self.registry, path=directory)
        else:
            self.registry = own
        self.multiprocess = bool(directory)

    def __call__(self) -> Iterable[Metric]:
        return self.registry.collect()


class RequestSamples:
    """One worker's snapshots, oldest first, bounded to KEPT_SECONDS.

    A snapshot is kept only when the newest kept one is at least KEEP_SPACING old, so however many pages
    poll, a worker keeps at most KEPT_SECONDS / KEEP_SPACING of them: 1,444 of about 4 kB, under 6 MB.
    """

    def __init__(self, collect: Callable[[], Iterable[Metric]]):
        self._collect = collect
        self._samples: deque[Sample] = deque()
        self._lock = threading.Lock()

    def take(self) -> list[Sample]:
        """The snapshots kept and one taken now, oldest first; those too old for any window are dropped."""
        now = time.time()
        sample = sample_of(self._collect(), now)
        with self._lock:
            if not self._samples or self._samples[-1].at <= now - KEEP_SPACING:
                self._samples.append(sample)
            while self._samples[0].at < now - KEPT_SECONDS:
                self._samples.popleft()
            kept = list(self._samples)
        return kept if kept[-1] is sample else [*kept, sample]

    def start(self, seconds: float = SAMPLE_SECONDS) -> None:
        """Snapshot every `seconds` in a daemon thread, so windows have history before anyone reads them."""
        threading.Thread(target=self._sample_forever, args=(seconds,), name="request-samples", daemon=True).start()

    def _sample_forever(self, seconds: float) -> None:
        while True:
            self.take()
            time.sleep(seconds)


def in_window(samples: list[Sample], seconds: float) -> list[Sample]:
    """The snapshots of the last `seconds` (the newest is now), oldest first."""
    now = samples[-1].at
    return [sample for sample in samples if sample.at >= now - seconds]


class WindowQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    minutes: int = Field(
        default=5,
        description=f"The window, in minutes: one of {', '.join(map(str, WINDOWS_MINUTES))}.",
        json_schema_extra={"enum": list(WINDOWS_MINUTES)},
    )

    @field_validator("minutes")
    @classmethod
    def one_of_the_windows(cls, minutes: int) -> int:
        if minutes not in WINDOWS_MINUTES:
            raise ValueError(f"must be one of {', '.join(map(str, WINDOWS_MINUTES))}")
        return minutes


class Latency(BaseModel):
    """Estimates from the histogram's buckets (see the module's docstring); None without requests."""

    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


class RequestPoint(BaseModel):
    at: datetime = Field(description="The end of the interval (UTC).")
    per_second: dict[str, float] = Field(description="Requests per second by status class over the interval.")
    latency: Latency


class RequestFigures(BaseModel):
    minutes: int
    covered_s: float = Field(
        description="How much of the window the answering worker has observed: less than the window while it is young."
    )
    requests: int = Field(description="Requests in the covered part of the window.")
    counts: dict[str, int] = Field(description="Requests by status class (2xx, 3xx, 4xx, 5xx).")
    per_second: dict[str, float] = Field(description="Requests per second by status class.")
    latency: Latency
    series: list[RequestPoint] = Field(description=f"At most {MAX_POINTS} intervals, oldest first.")
    scope: str = Field(description="Which requests the figures count.")


SCOPE = (
    "every request to the service except the dashboard's own pages and JSON endpoints"
    " (the public API the pages also read, such as /predictions and /drift, counts)"
)


def latency(buckets: dict[float, float]) -> Latency:
    def ms(q: float) -> float | None:
        seconds = quantile(q, buckets)
        return None if seconds is None else seconds * 1000

    return Latency(p50_ms=ms(0.5), p95_ms=ms(0.95), p99_ms=ms(0.99))


def point(earlier: Sample, later: Sample) -> RequestPoint:
    seconds = later.at - earlier.at
    counts = increases(later.api, earlier.api)
    return RequestPoint(
        at=datetime.fromtimestamp(later.at, UTC),
        per_second={name: counts.get(name, 0.0) / seconds for name in STATUS_CLASSES},
        latency=latency(increases(later.api_buckets, earlier.api_buckets)),
    )


def thinned(samples: list[Sample]) -> list[Sample]:
    """At most MAX_POINTS + 1 snapshots, evenly spread, the first and the last always kept."""
    step = math.ceil((len(samples) - 1) / MAX_POINTS) or 1
    kept = samples[::step]
    return kept if kept[-1] is samples[-1] else [*kept, samples[-1]]


def request_figures(samples: list[Sample], minutes: int) -> RequestFigures:
    """The window's figures from a worker's snapshots (the newest taken now)."""
    window = in_window(samples, minutes * 60)
    first, last = window[0], window[-1]
    covered = last.at - first.at
    counts = increases(last.api, first.api)
    kept = thinned(window)
    return RequestFigures(
        minutes=minutes,
        covered_s=covered,
        requests=round(sum(counts.values())),
        counts={name: round(counts.get(name, 0.0)) for name in STATUS_CLASSES},
        per_second={name: counts.get(name, 0.0) / covered if covered else 0.0 for name in STATUS_CLASSES},
        latency=latency(increases(last.api_buckets, first.api_buckets)),
        series=[point(earlier, later) for earlier, later in pairwise(kept)],
        scope=SCOPE,
    )
