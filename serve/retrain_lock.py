"""The contract between POST /admin/retrain and the retrain command (ops.retrain): where the command
keeps its records in the pipeline's repository, and the lock that says one is running.

The command holds the lock for as long as it runs, so any process can tell whether a retrain is under
way (`lock_held`), and a second command finds it taken and stops (`hold`).
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

RECORDS = Path("reports/retrain")
"""One JSON record per run (<time>.json), beside the lock, the status and the command's log."""
LOCK = RECORDS / "lock"
STATUS = RECORDS / "status.json"
"""The latest run's record: state (running, finished, failed), evidence, reasons, outcome or error."""
LOG = RECORDS / "retrain.log"
"""The output of the runs the API started."""


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
