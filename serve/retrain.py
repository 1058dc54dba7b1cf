"""POST /admin/retrain: the retrain command (ops.retrain, `make retrain`) as a background process, which
POST /admin/retrain/cancel stops and GET /admin/retrain follows.

The command holds a lock for as long as it runs (serve.retrain_lock). The lock tells every worker
that a retrain is under way, and keeps two from running at once: a start is refused while it is
held, and of two starts that race, the second command finds it taken and exits. A start answers once
the new command holds the lock (or has already exited), so "started" means a retrain really is
running. The command runs in SERVE_PIPELINE_DIR, a checkout of the pipeline: the server imports none
of it, nor reads its params.yaml. A preset and param overrides go to the command as they came; it
checks them against params.yaml with the pipeline's own params models before it takes the lock, and
when it refuses them (exit status BAD_PARAMS), the start is a 422 naming each param.

A cancel is SIGTERM to the command (its pid is in the record, status.json), which stops DVC and
records the cancel; it is refused once the register stage runs (CANCEL_TOO_LATE_STAGE). While the
command runs, its process tree's CPU and memory (the command, DVC, the stage) come with its status.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess  # nosec B404  # starts `python -m ops.retrain`, no shell
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil
from pydantic import BaseModel, Field

from serve.errors import ErrorDetail, RequestError
from serve.prediction_log import database_url
from serve.retrain_lock import BAD_PARAMS, CANCEL_TOO_LATE_STAGE, LOCK, LOG, PARAM_PROBLEM, STATUS, lock_held

START_TIMEOUT_S = 60
COMMAND = "ops.retrain"
MB = 1024 * 1024


class RetrainUsage(BaseModel):
    """What the running retrain's processes use: the command, DVC and the stage DVC runs, together."""

    cpu_percent: float = Field(
        description="CPU time per wall time, 100 being one core: since this worker's previous reading of each"
        " process, or since the process started on the first."
    )
    memory_mb: float = Field(description="Resident memory (RSS), summed over the processes.")
    processes: int


class ProcessTree:
    """CPU and memory of a process and all its descendants, CPU measured between this worker's readings."""

    def __init__(self) -> None:
        self.previous: dict[tuple[int, float], tuple[float, float]] = {}
        """(pid, start time) of each process read last time: (when, its CPU seconds then)."""

    def usage(self, pid: int) -> RetrainUsage | None:
        """None when the process is gone."""
        try:
            root = psutil.Process(pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return None
        now, cpu_percent, memory, read = time.time(), 0.0, 0, {}
        for process in tree:
            try:
                with process.oneshot():
                    key = (process.pid, process.create_time())
                    times = process.cpu_times()
                    memory += process.memory_info().rss
            except psutil.Error:  # it ended since the listing
                continue
            cpu_seconds = times.user + times.system
            since, cpu_then = self.previous.get(key, (key[1], 0.0))
            cpu_percent += 100 * (cpu_seconds - cpu_then) / max(now - since, 1e-3)
            read[key] = (now, cpu_seconds)
        self.previous = read
        return RetrainUsage(cpu_percent=round(cpu_percent, 1), memory_mb=round(memory / MB, 1), processes=len(read))


class RetrainLauncher:
    def __init__(self, pipeline_dir: Path, prediction_db: str):
        self.pipeline_dir = pipeline_dir.resolve()
        self.prediction_db = database_url(prediction_db)  # absolute: the command runs in another folder
        self.tree = ProcessTree()

    def running(self) -> bool:
        return lock_held(self.pipeline_dir / LOCK)

    def last(self) -> dict[str, Any] | None:
        """The retrain command's latest record (status.json), or None before its first run."""
        try:
            return json.loads((self.pipeline_dir / STATUS).read_text())
        except FileNotFoundError:
            return None

    def usage(self) -> RetrainUsage | None:
        """The running retrain's CPU and memory; None when none runs."""
        pid = self._running_command()
        return self.tree.usage(pid) if pid else None

    def start(self, dry_run: bool, force: bool, preset: str, params: dict[str, Any]) -> None:
        """Start `python -m ops.retrain` in the pipeline's repository; return once it holds the lock."""
        if not (self.pipeline_dir / "dvc.yaml").is_file():
            detail = ErrorDetail(field="SERVE_PIPELINE_DIR", message=f"{self.pipeline_dir} holds no dvc.yaml")
            raise RequestError(409, "no pipeline to run", [detail])
        if self.running():
            detail = ErrorDetail(field="retrain", message="wait for it to finish: GET /admin/retrain shows its state")
            raise RequestError(409, "a retrain is already running", [detail])
        flags = [*(["--dry-run"] if dry_run else []), *(["--force"] if force else []), f"--preset={preset}"]
        flags += [f"--set={name}={json.dumps(value)}" for name, value in params.items()]
        log_start = self._log_size()
        process = self._spawn(flags)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.running() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if process.poll() == BAD_PARAMS:
            raise RequestError(422, "invalid retrain params", self._param_problems(log_start, params))
        if process.poll() not in (None, 0):
            reason = self._last_log_line()
            status = 409 if "another retrain is running" in reason else 500
            raise RequestError(
                status, "the retrain command failed to start", [ErrorDetail(field="retrain", message=reason)]
            )

    def cancel(self) -> None:
        """SIGTERM to the running retrain command, which stops DVC and records the cancel; a 409 when none
        runs, or when it is registering its new version."""
        pid = self._running_command()
        if pid is None:
            detail = ErrorDetail(field="retrain", message="nothing to cancel: GET /admin/retrain shows the last record")
            raise RequestError(409, "no retrain is running", [detail])
        if (self.last() or {}).get("current_stage") == CANCEL_TOO_LATE_STAGE:
            message = "the register stage is registering the new version; it finishes in seconds"
            raise RequestError(409, "too late to cancel", [ErrorDetail(field="retrain", message=message)])
        os.kill(pid, signal.SIGTERM)

    def _running_command(self) -> int | None:
        """The pid of the retrain command that holds the lock now (its record names it), if one does."""
        last = self.last() or {}
        pid = last.get("pid")
        if last.get("state") != "running" or not isinstance(pid, int) or not self.running():
            return None
        try:
            is_ours = COMMAND in psutil.Process(pid).cmdline()
        except psutil.Error:
            return None
        return pid if is_ours else None

    def _spawn(self, flags: list[str]) -> subprocess.Popen:
        log_file = self.pipeline_dir / LOG
        log_file.parent.mkdir(parents=True, exist_ok=True)
        environment = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "SERVE_PREDICTION_DB": str(self.prediction_db),
        }
        with open(log_file, "ab") as log:
            process = subprocess.Popen(  # nosec B603  # this interpreter, ops.retrain, flags it validated
                [sys.executable, "-m", COMMAND, *flags],
                cwd=self.pipeline_dir,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        threading.Thread(target=process.wait, name="retrain-reaper", daemon=True).start()
        return process

    def _log_size(self) -> int:
        try:
            return (self.pipeline_dir / LOG).stat().st_size
        except FileNotFoundError:
            return 0

    def _param_problems(self, log_start: int, params: dict[str, Any]) -> list[ErrorDetail]:
        """The command's refusals in its output since `log_start`, each on the request's field it came from:
        an override in `params`, or else the preset's own values."""
        with open(self.pipeline_dir / LOG, "rb") as log:
            log.seek(log_start)
            output = log.read().decode(errors="replace")
        problems = [
            ErrorDetail(field=_request_field(found["name"], params), message=f"{found['name']}: {found['problem']}")
            for found in PARAM_PROBLEM.finditer(output)
        ]
        return problems or [ErrorDetail(field="params", message=self._last_log_line())]

    def _last_log_line(self) -> str:
        lines = (self.pipeline_dir / LOG).read_text(errors="replace").strip().splitlines()
        return lines[-1] if lines else "no output"


def _request_field(param: str, params: dict[str, Any]) -> str:
    """Where a refused param came from: the override that sets it (or the section holding it), else the preset."""
    given = next((name for name in params if param == name or param.startswith(f"{name}.")), None)
    return f"params.{given}" if given else "preset"
