"""The Kubernetes manifests (deploy/k8s): rendered by kustomize and validated with strict schemas, offline,
and consistent with the app they run: its port, its probe paths, the variables it reads."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from serve.app import ROOMS
from serve.openapi import openapi_document
from serve.settings import Settings
from tests.support.project import PROJECT

MANIFESTS = PROJECT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.32.0"
READ_BY_GUNICORN = set(re.findall(r'"(GUNICORN_\w+)"', (PROJECT / "serve" / "gunicorn.conf.py").read_text()))
READ_BY_MLFLOW = {"MLFLOW_TRACKING_URI"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl 1.27 or later (kustomize 5) is not installed")
    output = subprocess.run(["kubectl", "kustomize", str(MANIFESTS)], capture_output=True, text=True, check=True)
    path = tmp_path_factory.mktemp("k8s") / "rendered.yaml"
    path.write_text(output.stdout)
    return path


@pytest.fixture(scope="module")
def resources(rendered: Path) -> dict[str, dict]:
    return {document["kind"]: document for document in yaml.safe_load_all(rendered.read_text())}


@pytest.fixture(scope="module")
def container(resources: dict[str, dict]) -> dict:
    (api,) = resources["Deployment"]["spec"]["template"]["spec"]["containers"]
    return api


def test_the_render_passes_strict_schema_validation(rendered: Path, resources: dict[str, dict]):
    validator = Path(sys.executable).parent / "kubernetes-validate"
    result = subprocess.run(
        [str(validator), "--strict", "-k", KUBERNETES_VERSION, str(rendered)], capture_output=True, text=True
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert set(resources) == {"ConfigMap", "Service", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget"}


def test_ports_and_probes_are_the_apps(resources: dict[str, dict], container: dict):
    config = resources["ConfigMap"]["data"]
    port = int(config["GUNICORN_BIND"].rsplit(":", 1)[1])
    paths = openapi_document("test", "0", ROOMS)["paths"]

    assert container["ports"] == [{"name": "http", "containerPort": port}]
    assert re.search(rf"^EXPOSE {port}$", (PROJECT / "Dockerfile").read_text(), re.M)
    assert resources["Service"]["spec"]["ports"][0]["targetPort"] == "http"
    probes = {kind: container[kind]["httpGet"] for kind in ("startupProbe", "livenessProbe", "readinessProbe")}
    assert {probe["port"] for probe in probes.values()} == {"http"}
    assert probes["livenessProbe"]["path"] == "/health" and probes["readinessProbe"]["path"] == "/ready"
    assert {probe["path"] for probe in probes.values()} <= set(paths)


def test_every_variable_is_one_the_server_reads_and_the_settings_accept(resources: dict[str, dict], container: dict):
    config = resources["ConfigMap"]["data"]
    from_secret = {item["name"]: item["valueFrom"]["secretKeyRef"] for item in container["env"] if "valueFrom" in item}
    names = set(config) | {item["name"] for item in container["env"]}
    documented = set(re.findall(r"^(\w+)=", (PROJECT / ".env.example").read_text(), re.M))

    unknown = {name for name in names - READ_BY_GUNICORN - READ_BY_MLFLOW - {"HOME"} if not is_setting(name)}
    assert not unknown, f"variables the server does not read: {sorted(unknown)}"
    assert names - {"HOME"} <= documented
    secret_keys = {"MLFLOW_TRACKING_URI", "SERVE_ADMIN_TOKEN", "SERVE_PREDICTION_DB"}
    assert {ref["key"] for ref in from_secret.values()} == set(from_secret) == secret_keys
    assert {ref["name"] for ref in from_secret.values()} == {"housing-serve-secrets"}
    settings = {name.removeprefix("SERVE_").lower(): value for name, value in config.items() if is_setting(name)}
    Settings(**settings)


def is_setting(name: str) -> bool:
    """A SERVE_<field> (or SERVE_<field>__<nested>) variable of serve.settings.Settings."""
    return name.startswith("SERVE_") and name.removeprefix("SERVE_").split("__")[0].lower() in Settings.model_fields


def test_a_stop_outlasts_gunicorns_graceful_timeout(resources: dict[str, dict]):
    pod = resources["Deployment"]["spec"]["template"]["spec"]

    assert pod["terminationGracePeriodSeconds"] > int(resources["ConfigMap"]["data"]["GUNICORN_GRACEFUL_TIMEOUT"])
