"""POST /admin/retrain: the retrain command (ops.retrain, `make retrain`) as a background process.

The command holds a lock for as long as it runs (serve.retrain_lock). The lock tells every worker
that a retrain is under way, and keeps two from running at once: a start is refused while it is
held, and of two starts that race, the second command finds it taken and exits. A start answers once
the new command holds the lock (or has already exited), so "started" means a retrain really is
running. The command runs in SERVE_PIPELINE_DIR, a checkout of the pipeline: the server imports none
of it.
"""

from __future__ import annotations

import json
import os
import subprocess  # nosec B404  # starts `python -m ops.retrain`, no shell
import sys
import threading
import time
from pathlib import Path
from typing import Any

from serve.errors import ErrorDetail, RequestError
from serve.prediction_log import database_url
from serve.retrain_lock import LOCK, LOG, STATUS, lock_held

START_TIMEOUT_S = 60
COMMAND = "ops.retrain"


class RetrainLauncher:
    def __init__(self, pipeline_dir: Path, prediction_db: str):
        self.pipeline_dir = pipeline_dir.resolve()
        self.prediction_db = database_url(prediction_db)  # absolute: the command runs in another folder

    def running(self) -> bool:
        return lock_held(self.pipeline_dir / LOCK)

    def last(self) -> dict[str, Any] | None:
        """The retrain command's latest record (status.json), or None before its first run."""
        try:
            return json.loads((self.pipeline_dir / STATUS).read_text())
        except FileNotFoundError:
            return None

    def start(self, dry_run: bool, force: bool) -> None:
        """Start `python -m ops.retrain` in the pipeline's repository; return once it holds the lock."""
        if not (self.pipeline_dir / "dvc.yaml").is_file():
            detail = ErrorDetail(field="SERVE_PIPELINE_DIR", message=f"{self.pipeline_dir} holds no dvc.yaml")
            raise RequestError(409, "no pipeline to run", [detail])
        if self.running():
            detail = ErrorDetail(field="retrain", message="wait for it to finish: GET /admin/retrain shows its state")
            raise RequestError(409, "a retrain is already running", [detail])
        process = self._spawn([*(["--dry-run"] if dry_run else []), *(["--force"] if force else [])])
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.running() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if process.poll() not in (None, 0):
            reason = self._last_log_line()
            status = 409 if "another retrain is running" in reason else 500
            raise RequestError(
                status, "the retrain command failed to start", [ErrorDetail(field="retrain", message=reason)]
            )

    def _spawn(self, flags: list[str]) -> subprocess.Popen:
        log_file = self.pipeline_dir / LOG
        log_file.parent.mkdir(parents=True, exist_ok=True)
        environment = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "SERVE_PREDICTION_DB": str(self.prediction_db),
        }
        with open(log_file, "ab") as log:
            process = subprocess.Popen(  # nosec B603  # this interpreter, ops.retrain, constant flags
                [sys.executable, "-m", COMMAND, *flags],
                cwd=self.pipeline_dir,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        threading.Thread(target=process.wait, name="retrain-reaper", daemon=True).start()
        return process

    def _last_log_line(self) -> str:
        lines = (self.pipeline_dir / LOG).read_text(errors="replace").strip().splitlines()
        return lines[-1] if lines else "no output"
