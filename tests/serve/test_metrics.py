"""The bulk histogram update gives what prometheus_client's own observe() gives, value by value."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from serve.metrics import PRICE_BUCKETS, observe_all

_names = itertools.count()


def scraped(fill) -> dict[str, float]:
    """The histogram's samples as Prometheus would scrape them (bucket, count, sum), by name and bound."""
    registry = CollectorRegistry()
    name = f"price_{next(_names)}"  # unique: in multiprocess mode equal names share value files
    histogram = Histogram(name, "Prices.", buckets=PRICE_BUCKETS, registry=registry)
    fill(histogram)
    text = generate_latest(registry).decode()
    return {
        f"{sample.name.removeprefix(name)}{sample.labels.get('le', '')}": sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


def test_observe_all_matches_observe_one_by_one():
    values = np.concatenate([np.random.default_rng(0).uniform(0, 1_200_000, 500), [50_000, 1_000_000, 2e6]])

    def one_by_one(histogram: Histogram) -> None:
        for value in values:
            histogram.observe(value)

    assert scraped(lambda histogram: observe_all(histogram, values)) == pytest.approx(scraped(one_by_one))
    assert scraped(one_by_one)["_bucket+Inf"] == len(values)
