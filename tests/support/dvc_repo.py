"""Temporary git + DVC repositories holding the project's pipeline, for the end-to-end tests."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from serve.retrain_lock import STATUS
from tests.support.params import TINY_PARAMS, deep_update, write_params
from tests.support.project import BIN, PROJECT
from tests.support.synthetic import housing_frame
from tests.support.tracking import MODEL_NAME


def project_environment() -> dict[str, str]:
    """This environment with the project's tools first on PATH and no MLflow, DVC or server settings
    inherited: what a command in a scratch repository runs with."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_", "SERVE_"))}
    environment["PATH"] = f"{BIN}{os.pathsep}{environment['PATH']}"
    return environment


def sh(repo: Path, *command: str, check: bool = True, env: dict[str, str] | None = None) -> str:
    """Run a command in `repo` with project_environment(); return its output (stdout then stderr),
    asserting success unless `check` is off."""
    environment = {**project_environment(), **(env or {})}
    result = subprocess.run(command, cwd=repo, env=environment, capture_output=True, text=True)
    assert not check or result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def stages_run(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


def make_repo(root: Path, params: dict | None = None) -> Path:
    """A committed git + DVC repository with the project's pipeline, code and a generated source CSV."""
    source = root / "source.csv"
    housing_frame(600, seed=1).to_csv(source, index=False)
    repo = root / "repo"
    repo.mkdir()
    for name in ("dvc.yaml", ".gitignore"):
        shutil.copy(PROJECT / name, repo / name)
    for package in ("housing", "stages", "serve", "ops"):
        shutil.copytree(PROJECT / package, repo / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(PROJECT / "data" / "incoming", repo / "data" / "incoming")
    changes = deep_update({"ingest": {"source": str(source), "sha256": None}}, TINY_PARAMS)
    write_params(repo, deep_update(changes, params or {}))
    sh(repo, "git", "init", "-q", "-b", "main")
    sh(repo, "git", "config", "user.email", "test@example.com")
    sh(repo, "git", "config", "user.name", "test")
    sh(repo, "dvc", "init", "-q")
    commit(repo, "pipeline")
    return repo


def commit(repo: Path, message: str) -> None:
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-q", "-m", message)


def retrain(repo: Path, *args: str, check: bool = True, env: dict[str, str] | None = None) -> str:
    return sh(repo, "python", "-m", "ops.retrain", *args, check=check, env=env)


def status(repo: Path) -> dict:
    """The retrain command's latest record."""
    return json.loads((repo / STATUS).read_text())


def versions(repo: Path) -> list[int]:
    """The registered versions in the repository's own MLflow store."""
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{repo / 'mlflow.db'}")
    return sorted(int(version.version) for version in client.search_model_versions(f"name='{MODEL_NAME}'"))


def build_trained_repo(shared: Path) -> Path:
    """A git + DVC repository whose pipeline has run once and been committed: a champion is registered,
    nothing is pending. Built once per test run in `shared`, by whoever gets there first; `repro.log`
    beside it holds that first run's output."""
    from filelock import FileLock

    root = shared / "trained-repo"
    with FileLock(str(shared / "trained-repo.lock")):
        if not (root / "repro.log").exists():
            root.mkdir(exist_ok=True)
            repo = make_repo(root, {"retrain": {"min_feedback": 20}})
            output = sh(repo, "dvc", "repro")
            commit(repo, "first run")
            (root / "repro.log").write_text(output)
    return root / "repo"


def copy_repo(repo: Path, into: Path) -> Path:
    """A private copy of a repository (its MLflow store included) for tests to change."""
    return Path(shutil.copytree(repo, into / "repo", symlinks=True))
