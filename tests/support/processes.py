"""Processes on 127.0.0.1 and waiting for them: the one way the tests, benchmarks and demos start a
server and wait until it answers, and the one polling loop behind every "wait until".

A server starts in its own session (its process group holds whatever workers and helpers it forks),
its output goes to a log file, and start_process returns once `ready` says so; it fails at once,
with the log, when the process exits first, rather than waiting out its timeout."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import requests

T = TypeVar("T")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(url: str, timeout: float = 2) -> bool:
    """Whether a GET of `url` answers 2xx now (a server still starting refuses the connection)."""
    try:
        return requests.get(url, timeout=timeout).ok
    except requests.RequestException:
        return False


def eventually(read: Callable[[], T], timeout: float = 30, interval: float = 0.1) -> T:
    """Call `read` until it returns something truthy or `timeout` passes; return its last value."""
    deadline = time.monotonic() + timeout
    while not (value := read()) and time.monotonic() < deadline:
        time.sleep(interval)
    return value


class NotReady(RuntimeError):
    """A process started by start_process exited, or did not become ready in time; says which, with its log."""


def start_process(
    command: Sequence[str | Path],
    log: Path | None,
    ready: Callable[[], object],
    timeout: float,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen:
    """Start `command` in a session of its own, its output to `log` (None: discarded), and return it once
    `ready()` is truthy. Raises NotReady, stopping it, if it exits first or `timeout` seconds pass."""
    with log.open("w") if log else contextlib.nullcontext(subprocess.DEVNULL) as output:
        process = subprocess.Popen(
            [str(part) for part in command], cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def up() -> object:
        if process.poll() is not None:
            raise NotReady(f"{command[0]} exited with {process.returncode}{_tail(log)}")
        return ready()

    if not eventually(up, timeout, interval=0.2):
        stop_process(process)
        raise NotReady(f"{command[0]} was not ready within {timeout} s{_tail(log)}")
    return process


def stop_process(process: subprocess.Popen, timeout: float = 60) -> None:
    """SIGTERM to the process (gunicorn's master then stops its workers gracefully, and they finish their
    requests and run atexit), then SIGKILL to what is left of its process group: helpers that outlive
    their parent (MLflow's), or everything when it did not stop within `timeout`."""
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError):  # the group is gone
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@contextmanager
def running(*args: Any, **kwargs: Any) -> Iterator[subprocess.Popen]:
    """start_process(*args, **kwargs) for the length of a `with` block, stopped (stop_process) when it ends."""
    process = start_process(*args, **kwargs)
    try:
        yield process
    finally:
        stop_process(process)


def _tail(log: Path | None, characters: int = 5000) -> str:
    return f":\n{log.read_text()[-characters:]}" if log else ""
