"""The project's images for the tests and bench/images: built by deploy/image.sh (as `make image` builds
them) and run with podman, with the flags this sandbox needs (runc, open-file limits below the hard
limits). The `project_image` fixture (tests/conftest.py) builds each once per test run."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.processes import answers, eventually
from tests.support.project import PROJECT

PODMAN = ["podman", "--runtime", "/usr/sbin/runc"] if Path("/usr/sbin/runc").exists() else ["podman"]
LIMITS = ["--ulimit", "nofile=10000:10000", "--ulimit", "nproc=4096:4096"]
TEST_TAGS = {"serve": "localhost/housing-api", "train": "localhost/housing-train"}
"""The images' names in the tests; each test run tags them with its own id."""
needs_podman = pytest.mark.skipif(
    shutil.which("podman") is None, reason="needs podman (make container-tools; .ci/run installs it)"
)


def podman(*args: str | Path, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    done = subprocess.run([*PODMAN, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    assert not check or done.returncode == 0, f"podman {' '.join(map(str, args))}:\n{done.stdout}\n{done.stderr}"
    return done


def build(target: str, tag: str, log: Path) -> float:
    """Build a target of the Dockerfile with deploy/image.sh; the seconds it took (its output in `log`)."""
    started = time.monotonic()
    with log.open("w") as output:
        done = subprocess.run(
            ["deploy/image.sh", target, tag],
            cwd=PROJECT,
            env={**os.environ, "CONTAINER_ENGINE": "podman"},  # the tests run what podman built
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=1800,
        )
    assert done.returncode == 0, log.read_text()[-5000:]
    return time.monotonic() - started


def image_size(tag: str) -> int:
    """Bytes, uncompressed, as `podman image inspect` reports them."""
    return int(podman("image", "inspect", "--format", "{{.Size}}", tag).stdout)


@contextmanager
def container(tag: str, name: str, *run_args: str) -> Iterator[str]:
    """A detached container of `tag` named `name`; removed when the block ends (its logs are printed then)."""
    podman("run", "-d", "--name", name, *LIMITS, *run_args, tag)
    try:
        yield name
    finally:
        print(podman("logs", name, check=False).stdout[-5000:])
        podman("rm", "-f", "-v", "-t", "0", name, check=False)


def wait_until_ready(url: str, name: str, timeout: float = 180) -> float:
    """Seconds until `url`/ready answers 200; fails with the container's logs if it exits or never does."""
    started = time.monotonic()

    def ready() -> bool:
        if answers(f"{url}/ready"):
            return True
        inspected = podman("inspect", "--format", "{{.State.Status}}", name, check=False)
        if inspected.returncode == 0:  # else `podman run` has not created it yet
            assert inspected.stdout.strip() == "running", podman("logs", name, check=False).stdout
        return False

    assert eventually(ready, timeout, interval=0.5), (
        f"{name} not ready in {timeout} s:\n{podman('logs', name, check=False).stdout}"
    )
    return time.monotonic() - started


def writable_by_anyone(path: Path) -> None:
    """The container runs as an unprivileged user: let it write what the test mounts."""
    for folder, _, files in os.walk(path):
        os.chmod(folder, 0o777)
        for file in files:
            os.chmod(Path(folder) / file, 0o666)
