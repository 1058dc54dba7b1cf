"""The System page's figures on the real service in process: request counts by status class, latency
percentiles and their windows from the service's own metrics, the recent error answers shared by two
apps on one prediction log (as two gunicorn workers are) and kept bounded, the alert rules held to
monitoring/alerts.yml and evaluated against their thresholds, and the pages' own readiness check left
out of the figures."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text

from serve.dashboard.alerts import RULES, alerts
from serve.dashboard.request_rates import Sample, quantile, request_figures
from serve.prediction_log import PredictionLog, QueuedError, engine
from tests.support.processes import eventually
from tests.support.project import PROJECT
from tests.support.serving import RECORD, App, start_app
from tests.support.tracking import fresh_store

BAD_RECORD = {**RECORD, "total_rooms": -3}


def predict(app: App, record: dict, request_id: str) -> int:
    return app.post("/predict", json=record, headers={"X-Request-ID": request_id}).status_code


def test_a_window_counts_the_requests_made_by_status_class(tmp_path: Path, champion_store: str):
    with start_app(tmp_path, champion_store) as app:
        before = app.get("/system/requests?minutes=1").get_json()
        assert before["requests"] == 0 and before["series"] == []

        statuses = [predict(app, RECORD, f"good-{n}") for n in range(3)]
        statuses += [predict(app, BAD_RECORD, f"bad-{n}") for n in range(2)]
        statuses += [app.get(f"/no/such/page/{n}").status_code for n in range(4)]
        assert statuses == [200] * 3 + [422] * 2 + [404] * 4

        figures = app.get("/system/requests?minutes=1").get_json()
        again = app.get("/system/requests?minutes=1").get_json()

    assert figures["counts"] == {"2xx": 3, "3xx": 0, "4xx": 6, "5xx": 0}
    assert figures["requests"] == 9
    assert figures["per_second"]["4xx"] == pytest.approx(6 / figures["covered_s"])
    assert [point["per_second"] for point in figures["series"]] == [figures["per_second"]]
    latency = figures["latency"]
    assert 0 < latency["p50_ms"] <= latency["p95_ms"] <= latency["p99_ms"] <= 2500
    assert again["counts"] == figures["counts"], "the dashboard's own reads are left out"


def test_the_pages_readiness_check_is_the_same_answer_as_ready_but_a_200_left_out_of_the_figures(
    tmp_path: Path, migrated_store: Path
):
    with start_app(tmp_path, fresh_store(tmp_path / "store", migrated_store)) as app:
        app.get("/system/requests?minutes=1")  # the window's first snapshot
        for_pages = app.get("/system/ready")
        for_probes = app.get("/ready")
        figures = app.get("/system/requests?minutes=1").get_json()

    assert for_pages.status_code == 200 and for_probes.status_code == 503
    assert for_pages.get_json() == for_probes.get_json()
    assert for_pages.get_json()["ready"] is False
    assert figures["counts"] == {"2xx": 0, "3xx": 0, "4xx": 0, "5xx": 1}  # the probe's answer, not the page's


@pytest.mark.parametrize("query", ["minutes=7", "minutes=five", "minutes=0", "window=5"])
def test_a_bad_window_is_a_422_naming_the_parameter(app: App, query: str):
    response = app.get(f"/system/requests?{query}")

    assert response.status_code == 422
    assert {detail["field"] for detail in response.get_json()["details"]} == {query.partition("=")[0]}


def test_a_window_that_is_not_offered_is_answered_with_the_ones_that_are(app: App):
    [detail] = app.get("/system/requests?minutes=7").get_json()["details"]

    assert detail["message"].endswith("must be one of 1, 5, 15, 60 (got '7')")
    assert detail["message"].count("got") == 1


def test_error_answers_of_two_apps_on_one_log_are_listed_by_both(tmp_path: Path, champion_store: str):
    log = tmp_path / "predictions.db"
    with (
        start_app(tmp_path / "one", champion_store, prediction_db=log) as one,
        start_app(tmp_path / "two", champion_store, prediction_db=log) as two,
    ):
        assert predict(one, BAD_RECORD, "bad-on-one") == 422
        assert two.get("/no/such/page", headers={"X-Request-ID": "missing-on-two"}).status_code == 404
        assert two.get("/system/errors?limit=0").status_code == 422

        def listed(app: App) -> dict[str, dict]:
            found = {error["request_id"]: error for error in app.get("/system/errors").get_json()["errors"]}
            return found if {"bad-on-one", "missing-on-two"} <= set(found) else {}

        seen_by_one, seen_by_two = eventually(lambda: listed(one), timeout=10), eventually(lambda: listed(two))

    assert seen_by_one == seen_by_two
    bad, missing = seen_by_one["bad-on-one"], seen_by_one["missing-on-two"]
    assert (bad["method"], bad["path"], bad["status"], bad["error"]) == ("POST", "/predict", 422, "invalid record")
    assert "total_rooms" in bad["details"]
    assert (missing["method"], missing["path"], missing["status"]) == ("GET", "/no/such/page", 404)
    assert missing["error"] == "not found"


def test_the_log_keeps_only_the_newest_error_answers_of_every_writer(location: str):
    writers = [PredictionLog(location, retention_days=1, kept_errors=3) for _ in range(2)]
    for n in range(6):
        writers[n % 2].record_error(
            QueuedError(f"2026-01-01T00:00:0{n}", f"request-{n}", "GET", "/x", 404, "not found", "")
        )
        writers[n % 2].flush(timeout=10)
    for writer in writers:
        writer.close()

    assert [row["request_id"] for row in writers[0].recent_errors(10)] == ["request-5", "request-4", "request-3"]


def test_an_error_answer_the_log_cannot_store_is_answered_as_it_was(tmp_path: Path, champion_store: str):
    with start_app(tmp_path, champion_store) as app:
        with engine(app.service.predictions.location).begin() as connection:
            connection.execute(text("DROP TABLE errors"))

        assert predict(app, BAD_RECORD, "unstored") == 422
        app.service.predictions.flush(timeout=10)
        assert predict(app, RECORD, "still-serving") == 200


def alert_rules_in_yaml() -> dict[str, dict]:
    groups = yaml.safe_load((PROJECT / "monitoring" / "alerts.yml").read_text())["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


def test_every_alert_rule_is_the_one_in_monitoring_alerts_yml():
    in_yaml = alert_rules_in_yaml()

    assert [rule.name for rule in RULES] == list(in_yaml)
    for rule in RULES:
        written = in_yaml[rule.name]
        comparison = re.search(r"(>=|==|>)\s*([\d.]+)\s*$", written["expr"])
        assert comparison, written["expr"]
        assert (comparison[1], float(comparison[2])) == (rule.comparison, rule.threshold), rule.name
        assert written["labels"]["severity"] == rule.severity, rule.name
        assert written.get("for") == rule.lasts, rule.name


LATENCY = (0.005, 0.05, 0.1, 0.25, math.inf)


def buckets(*counts: float) -> dict[float, float]:
    """Cumulative buckets over LATENCY from the count in each."""
    return {bound: sum(counts[: index + 1]) for index, bound in enumerate(LATENCY)}


def sample(
    at: float, requests: float = 0, failed: float = 0, slow: float = 0, predictions: float = 0, **gauges
) -> Sample:
    """A snapshot after `requests` requests (`failed` of them 5xx), `slow` predictions over 100 ms."""
    fast = predictions - slow
    return Sample(
        at,
        api={"2xx": requests - failed, "5xx": failed},
        every={"2xx": requests - failed, "5xx": failed},
        api_buckets=buckets(requests, 0, 0, 0, 0),
        prediction_buckets=buckets(0, fast, 0, slow, 0),
        predictions=predictions,
        **gauges,
    )


def firing(samples: list[Sample]) -> set[str]:
    return {state.name for state in alerts(samples).alerts if state.firing}


def test_the_alerts_fire_beyond_their_thresholds_and_not_below():
    quiet = [sample(0, model_version=0), sample(300, 1000, failed=10, predictions=1000, slow=10, model_version=1,
                                                live_rmse=80_000, drifted_features=1)]  # fmt: skip
    loud = [sample(0, model_version=1), sample(300, 1000, failed=11, predictions=1000, slow=11, model_version=2,
                                               live_rmse=80_001, drifted_features=2)]  # fmt: skip
    idle = [sample(0, 10, predictions=5), sample(1800, 10, predictions=5)]

    assert firing(quiet) == set()
    assert firing(loud) == {
        "HousingApiErrorRate",
        "HousingApiSlowPredictions",
        "HousingLiveErrorHigh",
        "HousingServedTrafficDrift",
        "HousingModelVersionChanged",
    }
    assert firing(idle) == {"HousingNoPredictions"}
    states = {state.name: state for state in alerts(loud).alerts}
    assert states["HousingApiErrorRate"].lasts == "5m" and "1.1% of 1000 requests" in states["HousingApiErrorRate"].why
    assert states["HousingApiDown"].firing is False


def test_a_young_worker_says_how_much_of_the_window_it_covers():
    samples = [sample(at, requests=at) for at in (0, 100, 200, 300, 400)]

    figures = request_figures(samples, minutes=5)
    young = request_figures(samples[:3], minutes=15)

    assert (figures.covered_s, figures.requests, figures.per_second["2xx"]) == (300, 300, 1)
    assert (young.covered_s, young.requests) == (200, 200)
    assert (
        "observed 200 s of the 30 min"
        in {state.name: state for state in alerts(samples[:3]).alerts}["HousingNoPredictions"].why
    )


def test_percentiles_interpolate_inside_buckets_as_histogram_quantile_does():
    counts = {0.1: 5.0, 0.2: 10.0, math.inf: 10.0}

    assert quantile(0.5, counts) == pytest.approx(0.1)
    assert quantile(0.75, counts) == pytest.approx(0.15)
    assert quantile(0.99, {0.1: 0.0, 0.2: 1.0, math.inf: 5.0}) == 0.2, "beyond the last bucket: its bound"
    assert quantile(0.5, {0.1: 0.0, math.inf: 0.0}) is None
