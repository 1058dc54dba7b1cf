"""Which rules of monitoring/alerts.yml would fire now, computed from a worker's own snapshots of the
metrics (serve.dashboard.request_rates), for the System page and anyone without Prometheus.

The rules are written out here (the serving image has no monitoring/ folder), each with the name,
comparison, threshold, severity and `for:` of its Prometheus rule; tests/serve/test_dashboard_system.py
parses alerts.yml and holds every rule here to it. Two things this cannot do as Prometheus does, and
says so instead of pretending: a `for:` duration needs the condition's history, so a rule whose
condition holds now "would fire if it lasts" that long; and HousingApiDown is about whether the server
answers at all, which only the page can see (it marks the rule firing when its requests fail).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

from pydantic import BaseModel, Field

from serve.dashboard.request_rates import SAMPLE_SECONDS, Sample, in_window, increase, increases, quantile

Measure = Callable[[list[Sample]], tuple[float | None, str]]
"""A rule's value now from the snapshots (oldest first, the newest taken now), and what it says;
None when there is nothing to compare (Prometheus' empty result, which never fires)."""

COMPARISONS = {">": operator.gt, ">=": operator.ge, "==": operator.eq}


def observed(window: list[Sample], seconds: float) -> str:
    """Say how much of a rule's range the snapshots cover, when they cover less of it."""
    covered = window[-1].at - window[0].at
    if covered >= seconds - 2 * SAMPLE_SECONDS:  # the whole range, give or take the snapshots' spacing
        return ""
    return f" (this worker has observed {covered:.0f} s of the {seconds / 60:.0f} min)"


def answering(samples: list[Sample]) -> tuple[float | None, str]:
    return 1.0, "this server answered"


def error_rate(samples: list[Sample]) -> tuple[float | None, str]:
    window = in_window(samples, 300)
    counts = increases(window[-1].every, window[0].every)
    total = sum(counts.values())
    if not total:
        return None, "no requests in the last 5 min" + observed(window, 300)
    share = counts.get("5xx", 0.0) / total
    return share, f"{share:.1%} of {total:.0f} requests in the last 5 min answered 5xx" + observed(window, 300)


def prediction_p99(samples: list[Sample]) -> tuple[float | None, str]:
    window = in_window(samples, 300)
    p99 = quantile(0.99, increases(window[-1].prediction_buckets, window[0].prediction_buckets))
    if p99 is None:
        return None, "no predictions in the last 5 min" + observed(window, 300)
    return p99, f"p99 prediction latency {p99 * 1000:.1f} ms over the last 5 min (estimated from buckets)" + observed(
        window, 300
    )


def predictions(samples: list[Sample]) -> tuple[float | None, str]:
    window = in_window(samples, 1800)
    served = increase(window[-1].predictions, window[0].predictions)
    return served, f"{served:.0f} records predicted in the last 30 min" + observed(window, 1800)


def live_rmse(samples: list[Sample]) -> tuple[float | None, str]:
    rmse = samples[-1].live_rmse
    if rmse is None:
        return None, "no feedback measures a live RMSE"
    return rmse, f"highest live RMSE of a model answering clients: ${rmse:,.0f}"


def drifted(samples: list[Sample]) -> tuple[float | None, str]:
    count = samples[-1].drifted_features
    if count is None:
        return None, "served drift not measured yet"
    return count, f"{count:.0f} features of the served traffic drifted"


def version_changes(samples: list[Sample]) -> tuple[float | None, str]:
    window = in_window(samples, 600)
    # 0 is a worker that has loaded no model yet (an unset gauge), not a version: loading the first is no change.
    versions = [sample.model_version for sample in window if sample.model_version]
    if not versions:
        return None, "no model served"
    changes = sum(1 for earlier, later in pairwise(versions) if earlier != later)
    return float(changes), f"{changes} changes of the served version in the last 10 min" + observed(window, 600)


@dataclass(frozen=True)
class AlertRule:
    """One rule of monitoring/alerts.yml: `expr` compares a value with `threshold`."""

    name: str
    severity: str
    comparison: str
    threshold: float
    lasts: str | None
    """The rule's `for:`, as alerts.yml writes it."""
    summary: str
    measure: Measure


RULES = (
    AlertRule("HousingApiDown", "page", "==", 0, "1m", "The API does not answer.", answering),
    AlertRule(
        "HousingApiErrorRate", "page", ">", 0.01, "5m", "More than 1% of API requests fail with a 5xx.", error_rate
    ),
    AlertRule(
        "HousingApiSlowPredictions", "ticket", ">", 0.1, "10m", "p99 prediction latency is over 100 ms.", prediction_p99
    ),
    AlertRule("HousingNoPredictions", "ticket", "==", 0, "30m", "No prediction served for an hour.", predictions),
    AlertRule(
        "HousingLiveErrorHigh", "ticket", ">", 80000, "30m", "Live RMSE against feedback is over $80,000.", live_rmse
    ),
    AlertRule(
        "HousingServedTrafficDrift",
        "ticket",
        ">=",
        2,
        "30m",
        "Two or more features of the served traffic drifted from the champion's training data.",
        drifted,
    ),
    AlertRule(
        "HousingModelVersionChanged",
        "info",
        ">",
        0,
        None,
        "The served model version changed in the last 10 minutes.",
        version_changes,
    ),
)


class AlertState(BaseModel):
    name: str
    severity: str = Field(description="page, ticket or info, as monitoring/alerts.yml labels the rule.")
    summary: str
    firing: bool = Field(description="Whether the rule's condition holds now.")
    value: float | None = Field(description="The value the rule compares; null when there is none to compare.")
    comparison: str
    threshold: float
    lasts: str | None = Field(
        description="The rule's `for:`: Prometheus fires only when the condition holds this long, which one"
        " snapshot cannot tell; a rule holding now would fire if it lasts."
    )
    why: str = Field(description="The figure behind the verdict, and how much of the rule's range was observed.")


class Alerts(BaseModel):
    alerts: list[AlertState]


def evaluate(rule: AlertRule, samples: list[Sample]) -> AlertState:
    value, why = rule.measure(samples)
    firing = value is not None and COMPARISONS[rule.comparison](value, rule.threshold)
    return AlertState(
        name=rule.name,
        severity=rule.severity,
        summary=rule.summary,
        firing=firing,
        value=value,
        comparison=rule.comparison,
        threshold=rule.threshold,
        lasts=rule.lasts,
        why=why,
    )


def alerts(samples: list[Sample]) -> Alerts:
    return Alerts(alerts=[evaluate(rule, samples) for rule in RULES])
