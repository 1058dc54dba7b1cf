"""This checkout, and its code run as the pipeline runs it: a stage or an ops command as `python -m` in a
working directory (or a stage's main in this process), a function in a forked child."""

from __future__ import annotations

import contextlib
import importlib
import io
import multiprocessing
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
"""The environment's scripts: dvc, mlflow, gunicorn, moto_server, lint-imports."""
T = TypeVar("T")


def run_module(workdir: Path, module: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `python -m <module> ARGS` in `workdir` (a stage as DVC would run it, or an ops command);
    never raises on failure."""
    environment = {**os.environ, "PYTHONPATH": str(PROJECT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=workdir, env=environment, capture_output=True, text=True
    )


def run_stage(workdir: Path, stage: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the stage module `stages.<stage>` in `workdir`, as DVC would."""
    return run_module(workdir, f"stages.{stage}", *args, env=env)


def call_stage(workdir: Path, stage: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `stages.<stage>`'s main in this process as DVC would run the module: arguments, working
    directory and environment set, stdout, stderr and the exit status captured. For the stages that
    touch no MLflow (ingest, drift, preprocess): the same code as run_stage without an interpreter's
    start-up per call. The end-to-end tests run every stage through DVC."""
    main = importlib.import_module(f"stages.{stage}").main
    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(workdir)
        patch.setattr(sys, "argv", [f"stages.{stage}", *args])
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                main()
                returncode = 0
            except SystemExit as exit_:
                returncode = exit_.code if isinstance(exit_.code, int) else 1
    return subprocess.CompletedProcess(args, returncode, stdout.getvalue(), stderr.getvalue())


def in_forked_child(function: Callable[..., T], *args: object) -> T:
    """`function(*args)` in a forked child: it has every module imported already, and whatever global
    state it sets (MLflow's tracking URI, active run, sys.modules) dies with it."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork")) as child:
        return child.submit(function, *args).result()


def shared_temp(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """This run's temporary folder that every xdist worker sees."""
    return tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
