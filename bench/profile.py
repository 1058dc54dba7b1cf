"""bench/profile: where a request's time goes in a worker under load, sampled by py-spy.

    make bench-profile      # or: python -m bench.profile --seconds 20

Starts this server with one worker (the configured worker class), drives it with wrk (single
records to /predict, concurrency 8, kept-open connections) and has py-spy sample the worker meanwhile,
its idle and waiting threads left out. Each sample goes to the first part of the request path its stack reaches,
walking from the innermost frame out (the model kernels, the features, validation, the prediction
log, metrics, the access log, Flask and gunicorn), and the table gives each part's share of the
worker's busy time and its CPU microseconds per request (the worker's CPU time over the requests
it answered).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import requests

from bench.provenance import provenance
from bench.serve import BIN_DIR, records, run_wrk, server_env, serving, worker_used, wrk_script
from housing.fast import LightGBMRows, XGBoostTrees
from serve.errors import parse_json, validate_model
from serve.prediction import validate_records

PORT = 8611


def frame_of(function: Callable) -> str:
    """How py-spy names a function's frames: its qualified name, then ` (file:line)`."""
    return f"{function.__qualname__} ("


PARTS: list[tuple[str, tuple[str, ...]]] = [
    ("model: XGBoost trees", (frame_of(XGBoostTrees.predict), "xgboost/")),
    ("model: LightGBM", (frame_of(LightGBMRows.predict), "lightgbm/")),
    ("model: MLP (torch)", ("housing/mlp.py", "torch/")),
    ("model: other estimators", ("sklearn/linear_model", "sklearn/ensemble")),
    ("features and scaling", ("housing/features.py", "housing/fast.py", "sklearn/")),
    ("validation (pydantic)", (*map(frame_of, (validate_records, validate_model, parse_json)), "pydantic")),
    ("prediction log", ("serve/prediction_log.py", "sqlite3")),
    ("metrics (prometheus)", ("serve/metrics.py", "prometheus_")),
    ("access log and request id", ("serve/request_log.py", "logging/")),
    ("JSON", ("json/",)),
    ("the rest of the app", ("serve/",)),
    ("Flask and werkzeug", ("flask/", "werkzeug/")),
    ("gunicorn (HTTP, sockets)", ("gunicorn/",)),
]
OTHER = "other (interpreter, imports, threads)"
WAITING = ("Condition.wait (", "Event.wait (", "select (selectors.py")
"""Innermost frames of a thread that waits: py-spy cannot always tell, and these are not work."""


def part_of(stack: list[str]) -> str:
    """The part a sample belongs to: the first pattern met walking from the innermost frame out."""
    for frame in reversed(stack):
        for part, patterns in PARTS:
            if any(pattern in frame for pattern in patterns):
                return part
    return OTHER


def read_samples(raw: Path) -> Counter[str]:
    """py-spy's raw (collapsed) output: `frame;frame;... count` per line, the root frame first."""
    parts: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not frames[-1].startswith(WAITING):
            parts[part_of(frames)] += int(count)
    return parts


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker_pid(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    if len(children) != 1:
        raise RuntimeError(f"expected one gunicorn worker, found {children}")
    return int(children[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--out", type=Path, default=Path("bench/results/profile.json"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    env = server_env(work, PORT, workers=1)
    url = f"http://127.0.0.1:{PORT}"
    command = [str(BIN_DIR / "gunicorn"), "-c", "serve/gunicorn.conf.py", "serve.wsgi:app"]
    with serving(command, env, f"{url}/ready", work / "serve.log") as server:
        worker = worker_pid(server.pid)
        script = wrk_script(work, "predict1", json.dumps(records(1)[0]))
        run_wrk(f"{url}/predict", script, 8, 3, close=False)
        raw = work / "profile.txt"
        sampling = ["--format", "raw", "--output", str(raw), "--rate", str(args.rate), "--nonblocking"]
        sampler = subprocess.Popen(
            [str(BIN_DIR / "py-spy"), "record", "--pid", str(worker), "--duration", str(args.seconds + 1), *sampling],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        cpu_before = cpu_seconds(worker)
        load = run_wrk(f"{url}/predict", script, 8, args.seconds, close=False)
        cpu = cpu_seconds(worker) - cpu_before
        sampler.wait(timeout=60)
        path = requests.get(f"{url}/model/info", timeout=10).json()["prediction_path"]["serving"]
    parts = read_samples(raw)
    total = sum(parts.values())
    per_request_us = cpu / load["requests"] * 1e6
    table = [
        {"part": part, "share": round(count / total, 4), "cpu_us_per_request": round(count / total * per_request_us, 1)}
        for part, count in parts.most_common()
    ]
    worker_class = worker_used(work / "serve.log")
    report = {
        **provenance("bench.profile"),
        "worker_class": worker_class,
        "prediction_path": path,
        "load": load,
        "samples": total,
        "cpu_us_per_request": round(per_request_us, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report | {"parts": table}, indent=2) + "\n")
    print(f"one {worker_class} worker ({path} path), wrk c=8 keep-alive: {load['requests_per_s']:.0f} req/s;")
    print(f"{per_request_us:.0f} µs of worker CPU per request, {total} samples\n")
    print("| part of the request | share | CPU µs per request |\n|---|---|---|")
    for row in table:
        print(f"| {row['part']} | {row['share']:.1%} | {row['cpu_us_per_request']:.0f} |")


if __name__ == "__main__":
    main()
