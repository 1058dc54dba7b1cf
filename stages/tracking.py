"""Where MLflow runs go and how they are tagged, so the MLflow and git/DVC histories join.

Default store: `sqlite:///<repo>/mlflow.db` with artifacts in `<repo>/mlartifacts/`. The repo is
`DVC_ROOT`, which DVC sets to the real repository even for queued and --temp experiments that run in
a scratch copy. `MLFLOW_TRACKING_URI` overrides the store, for a tracking server or Postgres.
"""

from __future__ import annotations

import os
import shutil
import subprocess  # nosec B404  # git with a fixed argument list, no shell
from pathlib import Path

import mlflow

RETRAIN_REASON_ENV = "HOUSING_RETRAIN_REASON"
"""Set by ops.retrain for the `dvc repro` it starts, so the runs say why they happened."""
ENV_TAGS = {
    "DVC_EXP_NAME": "dvc.exp_name",
    "DVC_EXP_BASELINE_REV": "dvc.baseline_rev",
    "DVC_STAGE": "dvc.stage",
    RETRAIN_REASON_ENV: "retrain.reason",
}


def repo_root() -> Path:
    return Path(os.environ.get("DVC_ROOT") or Path.cwd()).resolve()


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{repo_root() / 'mlflow.db'}"


def sqlite_artifact_root(uri: str) -> str | None:
    """For a SQLite store, the absolute `mlartifacts/` folder beside the database file."""
    if not uri.startswith("sqlite:///"):
        return None
    return (Path(uri.removeprefix("sqlite:///")).resolve().parent / "mlartifacts").as_uri()


def configure_tracking(experiment: str) -> None:
    """Point MLflow at the configured store and experiment, creating the experiment if needed.

    On a SQLite store the experiment's artifact root is an absolute folder beside the database, so
    MLflow never falls back to a relative `./mlruns`; a tracking server chooses its own.
    """
    uri = tracking_uri()
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(uri)
    if mlflow.get_experiment_by_name(experiment) is None:
        mlflow.create_experiment(experiment, artifact_location=sqlite_artifact_root(uri))
    mlflow.set_experiment(experiment)


def git_commit() -> str | None:
    """The commit the code ran at, with a `-dirty` suffix when the work tree had changes."""
    git = shutil.which("git")
    if git is None:
        return None
    # Bandit B603 (untrusted input to a subprocess): git by its absolute path, fixed arguments, no shell.
    try:
        commit = subprocess.run([git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout  # nosec B603
        dirty = subprocess.run(  # nosec B603
            [git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit.strip() + ("-dirty" if dirty.strip() else "")


def lineage_tags() -> dict[str, str]:
    """Tags that join a run to git and DVC: the commit and, when set, DVC experiment, stage, retrain reason."""
    tags = {name: os.environ[var] for var, name in ENV_TAGS.items() if os.environ.get(var)}
    commit = git_commit()
    if commit:
        tags["mlflow.source.git.commit"] = commit
    return tags
