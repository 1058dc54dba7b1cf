"""The contract between POST /admin/retrain and the retrain command (ops.retrain): where the command
keeps its records in the pipeline's repository, the lock that says one is running, and how it says
that its params are refused.

The command holds the lock for as long as it runs, so any process can tell whether a retrain is under
way (`lock_held`), and a second command finds it taken and stops (`hold`).
"""

from __future__ import annotations

import fcntl
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

RECORDS = Path("reports/retrain")
"""One JSON record per run (<time>.json), beside the lock, the status and the command's log."""
LOCK = RECORDS / "lock"
STATUS = RECORDS / "status.json"
"""The latest run's record: state (running, finished, failed, cancelled), its command's pid, preset and
overrides, evidence, reasons, the stage running now and the stages done, outcome or error."""
LOG = RECORDS / "retrain.log"
"""The output of the runs the API started."""
BAD_PARAMS = 3
"""The command's exit status when its preset or an override is refused: before it takes the lock, it has
written a PARAM_PROBLEM line for each refused param (param_problem) to stderr."""
PARAM_PROBLEM = re.compile(r"^invalid param (?P<name>\S+): (?P<problem>.+)$", re.MULTILINE)
CANCEL_TOO_LATE_STAGE = "register"
"""The stage a cancel is refused in: it registers the new version (and finishes even when signalled)."""


def param_problem(name: str, problem: str) -> str:
    """The line the command writes for a refused param, which PARAM_PROBLEM reads (one line, whatever the problem)."""
    return f"invalid param {name}: {' '.join(problem.split())}"


class RetrainRunning(Exception):
    """Another retrain holds the lock."""


def lock_held(lock_file: Path) -> bool:
    """Whether a retrain holds `lock_file` now (tested by taking it for an instant)."""
    if not lock_file.exists():
        return False
    with open(lock_file) as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
    return False


@contextmanager
def hold(lock_file: Path) -> Iterator[None]:
    """Hold `lock_file` for the duration, or raise RetrainRunning at once if another retrain holds it."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RetrainRunning(f"another retrain is running (it holds {lock_file})") from None
        yield
