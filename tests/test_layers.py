"""The floors and the single sources of truth, checked rather than remembered:
- the import-linter contract in pyproject.toml holds (ops > serve | stages > housing);
- every stage's imports are covered by its dvc.yaml deps, so editing any of them reruns it;
- the family list: params.yaml's train sections, the pipeline's stages, the builders agree;
- the server's defaults are the pipeline's shipped ones (tests/serve/test_standalone.py: it runs without
  stages/).
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path, PurePosixPath

import grimp
import pytest
import yaml

from housing.drift import DriftThresholds
from serve.settings import Settings
from stages.families import FIT
from stages.params import MODEL_PARAMS, RegisterParams, RetrainParams, load_params
from tests.support.project import BIN, PROJECT

PACKAGES = ("housing", "stages", "serve", "ops")
PIPELINE = yaml.safe_load((PROJECT / "dvc.yaml").read_text())


def test_the_import_contract_holds():
    done = subprocess.run([BIN / "lint-imports"], cwd=PROJECT, capture_output=True, text=True)

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr


def module_file(module: str) -> str:
    """The repository path of one of our modules."""
    path = PROJECT / Path(*module.split("."))
    return str((path / "__init__.py" if path.is_dir() else path.with_suffix(".py")).relative_to(PROJECT))


def stage_module(command: str) -> str:
    """The module a stage command runs: `stages/python -m stages.train ...` -> stages.train."""
    words = shlex.split(command)
    return words[words.index("-m") + 1]


def covered(path: str, deps: list[str]) -> bool:
    return any(
        PurePosixPath(path) == PurePosixPath(dep) or PurePosixPath(dep) in PurePosixPath(path).parents for dep in deps
    )


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES)


@pytest.mark.parametrize("stage", sorted(PIPELINE["stages"]))
def test_every_file_a_stage_imports_is_in_its_deps(stage: str, graph: grimp.ImportGraph):
    definition = PIPELINE["stages"][stage]
    definition = definition.get("do", definition)
    module = stage_module(definition["cmd"])

    imported = {module, *graph.find_upstream_modules(module)}

    files = sorted(module_file(name) for name in imported)
    missing = [path for path in files if not covered(path, definition["deps"])]
    assert missing == [], f"{stage} imports {missing}, which its deps in dvc.yaml do not cover"


def test_no_stage_depends_on_a_file_it_does_not_import(graph: grimp.ImportGraph):
    """The other way round: a dep on code the stage no longer imports reruns it for nothing."""
    for stage, definition in PIPELINE["stages"].items():
        definition = definition.get("do", definition)
        module = stage_module(definition["cmd"])
        files = {module_file(name) for name in {module, *graph.find_upstream_modules(module)}}
        code_deps = [dep for dep in definition["deps"] if dep.endswith(".py") or dep in PACKAGES]
        unused = [dep for dep in code_deps if not any(covered(path, [dep]) for path in files)]
        assert unused == [], f"{stage} depends on {unused} but imports none of it"


def test_one_family_list_for_params_and_builders():
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())

    assert PIPELINE["stages"]["train"]["foreach"] == "${train}", "one train stage per params.yaml train section"
    assert list(params["train"]) == list(MODEL_PARAMS) == list(FIT)


def test_the_pipeline_makes_a_train_stage_per_family():
    listed = subprocess.run([BIN / "dvc", "stage", "list", "--name-only"], cwd=PROJECT, capture_output=True, text=True)

    assert listed.returncode == 0, listed.stderr
    trains = [name for name in listed.stdout.split() if name.startswith("train@")]
    assert trains == [f"train@{family}" for family in MODEL_PARAMS]


def test_the_servers_defaults_are_the_pipelines(monkeypatch: pytest.MonkeyPatch):
    """Out of the box `make serve` serves what `make repro` registers and judges drift as the pipeline does."""
    for name in list(os.environ):
        if name.startswith("SERVE_"):
            monkeypatch.delenv(name)
    settings = Settings()
    params_file = PROJECT / "params.yaml"

    assert settings.model_name == load_params("register", RegisterParams, params_file).model_name
    assert settings.drift_window == load_params("retrain", RetrainParams, params_file).served_window
    assert settings.drift == load_params("drift", DriftThresholds, params_file) == DriftThresholds()
