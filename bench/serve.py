"""bench/serve: this server against `mlflow models serve`, on the same champion, driven by wrk.

    make bench-serve        # or: python -m bench.serve --seconds 10

Starts each server in turn with 2 workers and one model thread per worker, then runs the same wrk
load: single records at concurrency 1, 8 and 32, and 100-record batches at concurrency 8. MLflow's
server is measured with kept-open connections and with a new connection per request (with several
uvicorn workers a kept-open connection waits ~45 ms per request), and compared at its better figure.
Stops this server cleanly and compares its prediction log with the count of predictions it served.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import requests

from housing.schema import NUMERIC_COLUMNS, RAW_COLUMNS
from serve.settings import Settings
from stages.telemetry import cpu_name
from stages.tracking import repo_root, tracking_uri

SCENARIOS = [("single", 1), ("single", 8), ("single", 32), ("batch100", 8)]
SHARED_DATA = repo_root().parent / "shared" / "data" / "housing.csv"
THREAD_PINNING = {"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE", "MKL_NUM_THREADS": "1"}


def records(count: int) -> list[dict]:
    if SHARED_DATA.is_file():
        frame = pd.read_csv(SHARED_DATA, nrows=count)[RAW_COLUMNS]
    else:
        from tests.synthetic import housing_frame

        frame = housing_frame(count)[RAW_COLUMNS]
    frame = frame.astype(dict.fromkeys(NUMERIC_COLUMNS, float))
    return [{key: value for key, value in row.items() if not pd.isna(value)} for row in frame.to_dict("records")]


def wrk_script(folder: Path, name: str, body: object) -> Path:
    script = folder / f"{name}.lua"
    payload = json.dumps(json.dumps(body))
    script.write_text(f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = {payload}\n')
    return script


def run_wrk(url: str, script: Path, connections: int, seconds: int, close: bool) -> dict:
    command = ["wrk", "-t", str(min(connections, 2)), "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    command += ["-s", str(script), *(["-H", "Connection: close"] if close else []), url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return {
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1]),
        "p50_ms": _latency(output, "50%"),
        "p99_ms": _latency(output, "99%"),
        "requests": int(re.search(r"(\d+) requests in", output)[1]),
        "errors": int(m[1]) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", output)) else 0,
        "socket_errors": sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output)),
    }


def _latency(output: str, percentile: str) -> float:
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)", output).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def start(command: list[str], env: dict, ready_url: str, log: Path) -> subprocess.Popen:
    process = subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if requests.get(ready_url, timeout=2).ok:
                return process
        except requests.RequestException:
            time.sleep(0.5)
    os.killpg(process.pid, signal.SIGKILL)
    raise RuntimeError(f"{command[0]} did not become ready; see {log}")


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=60)


def predictions_served(metrics_url: str) -> int:
    """The server's own count of predicted records (wrk misses requests still in flight at its end),
    read once two reads a second apart agree: the last requests wrk left behind have finished."""
    counts = [-1]
    while True:
        text = requests.get(metrics_url, timeout=10).text
        counts.append(round(sum(float(v) for v in re.findall(r"^housing_predictions_total\{.*\} (\S+)$", text, re.M))))
        if counts[-1] == counts[-2]:
            return counts[-1]
        time.sleep(1)


def measure(name: str, url: str, scripts: dict[str, Path], seconds: int, close: bool) -> list[dict]:
    results = []
    for kind, connections in SCENARIOS:
        result = run_wrk(url, scripts[kind], connections, seconds, close)
        results.append(
            {"server": name, "scenario": kind, "concurrency": connections, "new_connection": close, **result}
        )
        print(f"{name:>14} {kind:>8} c={connections:<3} close={close!s:<5} {result}", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("bench/results/serve.json"))
    args = parser.parse_args()
    model_name = Settings().model_name
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    single, batch = records(1)[0], records(100)
    ours = {"single": wrk_script(work, "predict1", single), "batch100": wrk_script(work, "predict100", batch)}
    theirs = {
        "single": wrk_script(work, "invocations1", {"dataframe_records": [single]}),
        "batch100": wrk_script(work, "invocations100", {"dataframe_records": batch}),
    }
    env = {**os.environ, **THREAD_PINNING, "MLFLOW_TRACKING_URI": tracking_uri()}
    bin_dir = Path(sys.executable).parent
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"

    (work / "prometheus").mkdir()
    server_env = {
        **env,
        "PROMETHEUS_MULTIPROC_DIR": str(work / "prometheus"),
        "SERVE_PREDICTION_DB": str(work / "predictions.db"),
        "GUNICORN_BIND": "127.0.0.1:8601",
        "GUNICORN_WORKERS": str(args.workers),
    }
    server = start(
        [str(bin_dir / "gunicorn"), "-c", "serve/gunicorn.conf.py", "serve.wsgi:app"],
        server_env,
        "http://127.0.0.1:8601/ready",
        work / "serve.log",
    )
    results = measure("this server", "http://127.0.0.1:8601/predict", ours, args.seconds, close=False)
    answered = predictions_served("http://127.0.0.1:8601/metrics")
    stop(server)
    with sqlite3.connect(work / "predictions.db") as connection:
        logged = connection.execute("SELECT COUNT(*) FROM predictions").fetchone()[0]

    mlflow_command = [str(bin_dir / "mlflow"), "models", "serve", "-m", f"models:/{model_name}@champion"]
    mlflow_command += ["--env-manager", "local", "-w", str(args.workers), "-h", "127.0.0.1", "-p", "8602"]
    mlflow_server = start(mlflow_command, env, "http://127.0.0.1:8602/ping", work / "mlflow.log")
    for close in (False, True):
        results += measure("mlflow serve", "http://127.0.0.1:8602/invocations", theirs, args.seconds, close)
    stop(mlflow_server)

    summary = summarise(results)
    report = {"machine": machine(), "predictions_logged": logged, "predictions_served": answered}
    report |= {"summary": summary, "runs": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print_table(summary)
    print(f"prediction log: {logged} rows for {answered} predictions served; results in {args.out}")


def summarise(results: list[dict]) -> list[dict]:
    rows = []
    for kind, connections in SCENARIOS:
        ours = next(
            r
            for r in results
            if r["server"] == "this server" and (r["scenario"], r["concurrency"]) == (kind, connections)
        )
        theirs = max(
            (
                r
                for r in results
                if r["server"] == "mlflow serve" and (r["scenario"], r["concurrency"]) == (kind, connections)
            ),
            key=lambda r: r["requests_per_s"],
        )
        rows_per_request = 100 if kind == "batch100" else 1
        rows.append(
            {
                "scenario": kind,
                "concurrency": connections,
                "ours_rps": ours["requests_per_s"],
                "ours_rows_per_s": ours["requests_per_s"] * rows_per_request,
                "ours_p50_ms": ours["p50_ms"],
                "ours_p99_ms": ours["p99_ms"],
                "ours_errors": ours["errors"] + ours["socket_errors"],
                "mlflow_rps": theirs["requests_per_s"],
                "mlflow_p50_ms": theirs["p50_ms"],
                "mlflow_p99_ms": theirs["p99_ms"],
                "mlflow_new_connection": theirs["new_connection"],
                "ratio": round(ours["requests_per_s"] / theirs["requests_per_s"], 2),
            }
        )
    return rows


def print_table(summary: list[dict]) -> None:
    print("| load | this server req/s | p50 ms | p99 ms | mlflow serve req/s (best) | p50 ms | p99 ms | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for row in summary:
        best = "new conn" if row["mlflow_new_connection"] else "keep-alive"
        print(
            f"| {row['scenario']} c={row['concurrency']} | {row['ours_rps']:.0f} | {row['ours_p50_ms']:.1f} | "
            f"{row['ours_p99_ms']:.1f} | {row['mlflow_rps']:.0f} ({best}) | {row['mlflow_p50_ms']:.1f} | "
            f"{row['mlflow_p99_ms']:.1f} | {row['ratio']:.2f}x |"
        )


def machine() -> str:
    return f"{os.cpu_count()} CPUs, {cpu_name()}"


if __name__ == "__main__":
    main()
