"""What only a real gunicorn with several workers shows: metrics summed over the workers' files, and a
killed worker replaced while the others keep answering."""

from __future__ import annotations

import os
import signal

import psutil
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.processes import eventually
from tests.support.serving import RECORD, Server

pytestmark = pytest.mark.slow


def scraped(server: Server, name: str) -> float:
    text = requests.get(f"{server.url}/metrics", timeout=30).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    )


def workers(server: Server) -> set[int]:
    return {child.pid for child in psutil.Process(server.process.pid).children()}


def predict(server: Server) -> int:
    with requests.Session() as session:  # sync workers close every connection: each request may land anywhere
        return session.post(f"{server.url}/predict", json=RECORD, timeout=30).status_code


def test_counters_add_up_over_every_worker(server):
    assert len(workers(server)) == 2
    before = scraped(server, "housing_predictions_total")

    statuses = [predict(server) for _ in range(30)]

    assert statuses == [200] * 30
    assert scraped(server, "housing_predictions_total") - before == 30


def test_a_killed_worker_is_replaced_and_the_others_keep_answering(server):
    first = workers(server)
    victim = min(first)

    os.kill(victim, signal.SIGKILL)

    def replaced() -> set[int] | None:
        now = workers(server)
        return now if len(now) == 2 and victim not in now else None

    assert [predict(server) for _ in range(10)] == [200] * 10
    assert eventually(replaced) - first
    assert eventually(lambda: all(predict(server) == 200 for _ in range(6)))
    assert scraped(server, "housing_model_info") == 1, "the dead worker's gauge is retired, the new one's counts"
