"""bench/images: the serving image's size, build times and start, and its speed against `make serve`.

    make bench-images        # or: python -m bench.images --seconds 10 --rounds 2  (after make repro)

Builds the serving image with deploy/image.sh from a cold cache (its own layers removed; the base
image kept, as a pulled python:3.11-slim would be) and again with every layer cached; starts it on
this checkout's MLflow store (the champion of `make repro`, mounted at its own path) and times the
start to the first 200 from /ready; then drives the container and a `make serve` gunicorn on the same
champion, settings and port kind with the same wrk load (single records to /predict, concurrency 8, a
new connection per request as sync workers serve), alternating the two for --rounds rounds. Prints
the table and writes bench/results/images.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.provenance import provenance
from bench.serve import records, run_wrk, serving, wrk_script
from stages.tracking import repo_root, tracking_uri
from tests.support.containers import LIMITS, PODMAN, image_size, podman

TAG = "localhost/housing-api:bench"
CONTAINER = "housing-api-bench"
HOST_PORT, CONTAINER_PORT = 8611, 8612
CONCURRENCY = 8


def build_seconds(log: Path) -> float:
    started = time.monotonic()
    with log.open("w") as output:
        subprocess.run(["deploy/image.sh", "serve", TAG], check=True, stdout=output, stderr=subprocess.STDOUT)
    return round(time.monotonic() - started, 1)


def cold_and_cached_builds(work: Path) -> dict:
    podman("rmi", "-f", TAG, check=False)
    podman("image", "prune", "-f", check=False)
    return {"cold_build_s": build_seconds(work / "cold.log"), "cached_build_s": build_seconds(work / "cached.log")}


def writable_copy(store: str, work: Path) -> str:
    """A copy of the SQLite store that the container's unprivileged user may open (SQLite writes beside
    a database it reads); the artifacts stay where the store says, in the checkout mounted read-only."""
    copy = work / "mlflow.db"
    shutil.copy(store.removeprefix("sqlite:///"), copy)
    copy.chmod(0o666)
    return f"sqlite:///{copy}"


def container_command(store: str, work: Path) -> list[str]:
    """`podman run` of the image on the host's network, the checkout's store mounted where it is."""
    root = str(repo_root())
    predictions = work / "container-data"
    predictions.mkdir()
    predictions.chmod(0o777)  # the container's unprivileged user writes its log there
    return [
        *PODMAN, "run", "--rm", "--name", CONTAINER, "--network", "host", *LIMITS,
        "-e", f"GUNICORN_BIND=127.0.0.1:{CONTAINER_PORT}", "-e", f"MLFLOW_TRACKING_URI={store}",
        "-v", f"{root}:{root}:ro", "-v", f"{work}:{work}", "-v", f"{predictions}:/data", TAG,
    ]  # fmt: skip


def host_command() -> list[str]:
    return [sys.executable, "-m", "gunicorn", "-c", "serve/gunicorn.conf.py", "serve.wsgi:app"]


def host_env(store: str, work: Path) -> dict[str, str]:
    metrics = work / "prometheus"
    metrics.mkdir()
    return {
        **os.environ,
        "MLFLOW_TRACKING_URI": store,
        "GUNICORN_BIND": f"127.0.0.1:{HOST_PORT}",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        "SERVE_PREDICTION_DB": str(work / "predictions.db"),
    }


def load(url: str, script: Path, seconds: int) -> dict:
    result = run_wrk(f"{url}/predict", script, CONCURRENCY, seconds, close=True)
    if result["errors"]:
        raise RuntimeError(f"{url}/predict: {result['errors']} of {result['requests']} answers were errors")
    return result


def compare(script: Path, seconds: int, rounds: int, work: Path, store: str) -> tuple[list[dict], float]:
    """Alternate the host server and the container under the same load; the container's start time."""
    runs = []
    with serving(host_command(), host_env(store, work), f"http://127.0.0.1:{HOST_PORT}/ready", work / "host.log"):
        started = time.monotonic()
        container_ready = f"http://127.0.0.1:{CONTAINER_PORT}/ready"
        # `podman run` in the foreground: the container's start is the process's, its exit the process's.
        with serving(container_command(store, work), dict(os.environ), container_ready, work / "container.log"):
            ready_s = round(time.monotonic() - started, 1)
            try:
                for round_ in range(rounds):
                    for server, port in (("make serve", HOST_PORT), ("container", CONTAINER_PORT)):
                        measured = load(f"http://127.0.0.1:{port}", script, seconds)
                        runs.append({"server": server, "round": round_, **measured})
                        print(f"{server}, round {round_ + 1}: {runs[-1]['requests_per_s']:.0f} req/s", flush=True)
            finally:
                podman("stop", "-t", "15", CONTAINER, check=False)
    return runs, ready_s


def summary(runs: list[dict]) -> dict:
    def best(server: str, key: str) -> float:
        return round(statistics.median(run[key] for run in runs if run["server"] == server), 2)

    figures = {
        server: {"requests_per_s": best(server, "requests_per_s"), "p99_ms": best(server, "p99_ms")}
        for server in ("make serve", "container")
    }
    ratio = figures["container"]["requests_per_s"] / figures["make serve"]["requests_per_s"]
    return {**figures, "container_vs_make_serve_requests": round(ratio, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("bench/results/images.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-images-") as scratch:
        work = Path(scratch)
        os.chmod(work, 0o777)
        store = writable_copy(tracking_uri(), work)
        builds = cold_and_cached_builds(work)
        script = wrk_script(work, "single", json.dumps(records(1)[0]))
        runs, ready_s = compare(script, args.seconds, args.rounds, work, store)
    result = {
        **provenance("bench.images"),
        "load": f"wrk, single records to /predict, concurrency {CONCURRENCY}, new connection per request",
        "workers": int(os.environ.get("GUNICORN_WORKERS", "2")),
        "image_bytes": image_size(TAG),
        **builds,
        "start_to_ready_s": ready_s,
        "runs": runs,
        "summary": summary(runs),
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({key: value for key, value in result.items() if key != "runs"}, indent=2))


if __name__ == "__main__":
    main()
