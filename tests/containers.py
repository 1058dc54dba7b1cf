"""The project's images for the tests: built by deploy/image.sh (as `make image` builds them) and run
with podman, with the flags this sandbox needs (runc, open-file limits below the hard limits)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.conftest import PROJECT, shared_temp

PODMAN = ["podman", "--runtime", "/usr/sbin/runc"] if Path("/usr/sbin/runc").exists() else ["podman"]
LIMITS = ["--ulimit", "nofile=10000:10000", "--ulimit", "nproc=4096:4096"]
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
    while time.monotonic() - started < timeout:
        try:
            if requests.get(f"{url}/ready", timeout=2).ok:
                return time.monotonic() - started
        except requests.RequestException:
            pass
        inspected = podman("inspect", "--format", "{{.State.Status}}", name, check=False)
        if inspected.returncode == 0:  # else `podman run` has not created it yet
            assert inspected.stdout.strip() == "running", podman("logs", name, check=False).stdout
        time.sleep(0.5)
    raise AssertionError(f"{name} not ready in {timeout} s:\n{podman('logs', name, check=False).stdout}")


def writable_by_anyone(path: Path) -> None:
    """The container runs as an unprivileged user: let it write what the test mounts."""
    for folder, _, files in os.walk(path):
        os.chmod(folder, 0o777)
        for file in files:
            os.chmod(Path(folder) / file, 0o666)


TEST_TAGS = {"serve": "localhost/housing-api", "train": "localhost/housing-train"}


@pytest.fixture(scope="session")
def project_image(tmp_path_factory: pytest.TempPathFactory, testrun_uid: str, worker_id: str) -> Iterator:
    """`project_image(target)`: the Dockerfile's target built once per test run, whichever xdist workers
    ask for it, under a tag of this run; removed with what its build left behind when the last worker
    using it ends (one asking later builds it again, from podman's layer cache if it is still there)."""
    from filelock import FileLock

    shared = shared_temp(tmp_path_factory, worker_id)
    used: list[str] = []

    def built(target: str) -> str:
        tag = f"{TEST_TAGS[target]}:test-{testrun_uid[:12]}"
        users = shared / f"image-{target}.users"
        with FileLock(str(shared / f"image-{target}.lock")):
            if not users.is_dir():
                build(target, tag, shared / f"image-{target}.log")
                users.mkdir()
            (users / worker_id).touch()
        if target not in used:
            used.append(target)
        return tag

    yield built
    for target in used:
        users = shared / f"image-{target}.users"
        with FileLock(str(shared / f"image-{target}.lock")):
            (users / worker_id).unlink()
            if not any(users.iterdir()):
                users.rmdir()
                podman("rmi", f"{TEST_TAGS[target]}:test-{testrun_uid[:12]}", check=False)
                podman("image", "prune", "-f", check=False)
