"""Where a benchmark's figures came from: the date, the machine and the command, written at the top of
each bench/results/*.json, so the manual prints them beside the figures (ops/bench_tables.py)."""

from __future__ import annotations

import os
import sys
from datetime import date

from stages.telemetry import cpu_name


def provenance(module: str) -> dict[str, str]:
    """The run being made now: today, this machine's CPU and cores, and `python -m MODULE ARGS`."""
    return {
        "date": date.today().isoformat(),
        "machine": f"{cpu_name()}, {os.cpu_count()} cores",
        "command": " ".join([f"python -m {module}", *sys.argv[1:]]),
    }
