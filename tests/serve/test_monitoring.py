"""Monitoring as code against the real tools: promtool checks the config and rules, a real Prometheus
scrapes a real gunicorn server with the project's scrape config, and every metric a dashboard panel
or alert queries is one the app exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import requests
import yaml

from tests.support.processes import answers, eventually, free_port, running
from tests.support.project import PROJECT
from tests.support.serving import RECORD

MONITORING = PROJECT / "monitoring"
PROMETHEUS = shutil.which("prometheus")
pytestmark = pytest.mark.skipif(
    PROMETHEUS is None or shutil.which("promtool") is None,
    reason="Debian's prometheus package is not installed: run `make monitoring-tools`",
)
GENERATED_BY_PROMETHEUS = {"up"}


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *args], cwd=MONITORING, capture_output=True, text=True)


def queries() -> list[str]:
    """Every PromQL expression of the alert rules and the Grafana dashboard."""
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    dashboard = json.loads((MONITORING / "grafana" / "dashboards" / "housing.json").read_text())
    alerts = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    return alerts + [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def metric_names(expression: str) -> set[str]:
    """Names of series an expression selects (a name followed by a label matcher or a range)."""
    return set(re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*[{\[]", expression))


@pytest.mark.parametrize("args", [("check", "config", "prometheus.yml"), ("check", "rules", "alerts.yml"),
                                  ("test", "rules", "alerts.test.yml")])  # fmt: skip
def test_promtool_accepts_the_config_and_rules(args):
    done = promtool(*args)

    assert done.returncode == 0, done.stdout + done.stderr


def test_every_queried_metric_is_one_the_app_exports(app):
    request_id = app.post("/predict", json=RECORD).get_json()["request_id"]
    app.logged(request_id, rows=1)
    assert app.post("/feedback", json={"request_id": request_id, "actual_value": 250_000}).status_code == 200
    assert app.get("/drift").get_json()["rows"]
    exported = set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]", app.get("/metrics").text, re.M))

    queried = set().union(*(metric_names(expression) for expression in queries()))

    assert queried - GENERATED_BY_PROMETHEUS <= exported, queried - GENERATED_BY_PROMETHEUS - exported


@pytest.fixture
def prometheus(server, tmp_path) -> str:
    """A real Prometheus on 127.0.0.1, with the project's config pointed at the test server."""
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["scrape_configs"][0]["static_configs"] = [{"targets": [server.url.removeprefix("http://")]}]
    config["rule_files"] = [str(MONITORING / "alerts.yml")]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        PROMETHEUS,
        f"--config.file={tmp_path / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    with running(command, tmp_path / "prometheus.log", lambda: answers(f"{url}/-/ready"), 30):
        yield url


def query(prometheus: str, expression: str) -> dict:
    return requests.get(f"{prometheus}/api/v1/query", params={"query": expression}, timeout=10).json()


@pytest.mark.slow
def test_prometheus_scrapes_the_request_counter_and_accepts_every_query(server, prometheus):
    counter = 'sum(flask_http_request_duration_seconds_count{job="housing-api", endpoint="predict", status="200"})'
    assert requests.post(f"{server.url}/predict", json=RECORD, timeout=30).ok  # the series exists from the first
    before = eventually(lambda: query(prometheus, counter)["data"]["result"], timeout=60)
    sent = 7
    for _ in range(sent):
        assert requests.post(f"{server.url}/predict", json=RECORD, timeout=30).ok

    def counted() -> float:
        result = query(prometheus, counter)["data"]["result"]
        return float(result[0]["value"][1]) - float(before[0]["value"][1]) if result else 0.0

    eventually(lambda: counted() >= sent, timeout=60, interval=0.5)
    assert counted() == sent
    for expression in queries():
        answer = query(prometheus, expression)
        assert answer["status"] == "success", (expression, answer)


def test_dashboard_has_the_panels_the_team_watches():
    dashboard = json.loads((MONITORING / "grafana" / "dashboards" / "housing.json").read_text())
    titles = " | ".join(panel["title"] for panel in dashboard["panels"])

    subjects = ("status", "latency", "Error rate", "Predictions per second", "Predicted values", "model version")
    for subject in (*subjects, "Champion vs challenger", "Served traffic drift", "Drifted features"):
        assert subject in titles
