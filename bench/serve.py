"""bench/serve: this server against `mlflow models serve`, on the same champion, driven by wrk.

    make bench-serve        # or: python -m bench.serve --seconds 10 --worker-classes sync,gthread

Starts this server once per gunicorn worker class (sync; gthread with --threads threads and
--keep-alive; gevent where it is installed), then MLflow's server, each with --workers workers and
one model thread per worker, all in one run on the same champion. Every server gets the same wrk
load, with kept-open connections and with a new connection per request: single records to /predict
(MLflow: /invocations) at concurrency 1, 8 and 32, and 100-record batches at concurrency 8. Then a
single record in each /invocations request format (dataframe_split, dataframe_records, instances,
inputs, CSV with a header) at concurrency 8 with kept-open connections, on this server under the
first worker class and on MLflow's. Each load is compared with MLflow's better connection mode.
After each worker class, stops this server cleanly and compares its prediction log with the count
of predictions it served.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import AbstractContextManager
from pathlib import Path

import pandas as pd
import requests

from bench.provenance import provenance
from housing.schema import NUMERIC_COLUMNS, RAW_COLUMNS
from serve.settings import Settings
from stages.tracking import repo_root, tracking_uri
from tests.support.processes import answers, running

SCENARIOS = [("single", 1), ("single", 8), ("single", 32), ("batch100", 8)]
ROWS_PER_REQUEST = {"single": 1, "batch100": 100}
FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs", "csv")
FORMAT_CONCURRENCY = 8
WORKER_CLASSES = ("sync", "gthread", *(("gevent",) if importlib.util.find_spec("gevent") else ()))
MODES = {False: "keep-alive", True: "new conn"}
OURS, MLFLOW = "this server", "mlflow serve"
OURS_PORT, MLFLOW_PORT = 8601, 8602
OURS_URL, MLFLOW_URL = f"http://127.0.0.1:{OURS_PORT}", f"http://127.0.0.1:{MLFLOW_PORT}"
BIN_DIR = Path(sys.executable).parent
SHARED_DATA = repo_root().parent / "shared" / "data" / "housing.csv"
THREAD_PINNING = {"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE", "MKL_NUM_THREADS": "1"}


def records(count: int) -> list[dict]:
    if SHARED_DATA.is_file():
        frame = pd.read_csv(SHARED_DATA, nrows=count)[RAW_COLUMNS]
    else:
        from tests.support.synthetic import housing_frame

        frame = housing_frame(count)[RAW_COLUMNS]
    frame = frame.astype(dict.fromkeys(NUMERIC_COLUMNS, float))
    return [{key: value for key, value in row.items() if not pd.isna(value)} for row in frame.to_dict("records")]


def format_bodies(record: dict) -> dict[str, tuple[str, str]]:
    """One record in each /invocations format, as (content type, body)."""
    split = {"columns": list(record), "data": [list(record.values())]}
    bodies = {
        "dataframe_split": {"dataframe_split": split},
        "dataframe_records": {"dataframe_records": [record]},
        "instances": {"instances": [record]},
        "inputs": {"inputs": [record]},
    }
    return {name: ("application/json", json.dumps(body)) for name, body in bodies.items()} | {
        "csv": ("text/csv", pd.DataFrame([record]).to_csv(index=False))
    }


def wrk_script(folder: Path, name: str, body: str, content_type: str = "application/json") -> Path:
    script = folder / f"{name}.lua"
    headers = f'wrk.headers["Content-Type"] = "{content_type}"'
    script.write_text(f'wrk.method = "POST"\n{headers}\nwrk.body = {json.dumps(body)}\n')
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


def server_env(work: Path, port: int, workers: int) -> dict[str, str]:
    """The environment of one of this server's gunicorn runs with its files in `work`, as bench/profile and
    bench/dashboard_load start it: the repository's champion, models on one thread, sync workers by default."""
    (work / "prometheus").mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        **THREAD_PINNING,
        "MLFLOW_TRACKING_URI": tracking_uri(),
        "PATH": f"{BIN_DIR}{os.pathsep}{os.environ['PATH']}",
        "PROMETHEUS_MULTIPROC_DIR": str(work / "prometheus"),
        "SERVE_PREDICTION_DB": str(work / "predictions.db"),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
    }


def serving(command: list[str], env: dict, ready_url: str, log: Path) -> AbstractContextManager[subprocess.Popen]:
    """A server for the length of a `with` block, once `ready_url` answers 2xx; stopped cleanly at its end."""
    return running(command, log, lambda: answers(ready_url), timeout=180, env=env)


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


def measure(server: dict, scripts: dict[str, Path], seconds: int) -> list[dict]:
    """The scenario loads in both connection modes; `server` labels every run."""
    results = []
    for close in MODES:
        for kind, connections in SCENARIOS:
            result = run_wrk(server["url"], scripts[kind], connections, seconds, close)
            results.append({**server, "scenario": kind, "concurrency": connections, "new_connection": close, **result})
            print(f"{label(server):>22} {kind:>8} c={connections:<3} {MODES[close]:<10} {result}", flush=True)
    return results


def measure_formats(server: dict, scripts: dict[str, Path], seconds: int) -> list[dict]:
    results = []
    for name in FORMATS:
        result = run_wrk(server["url"], scripts[name], FORMAT_CONCURRENCY, seconds, close=False)
        results.append({**server, "format": name, "concurrency": FORMAT_CONCURRENCY, "new_connection": False, **result})
        print(f"{label(server):>22} {name:>17} c={FORMAT_CONCURRENCY:<3} keep-alive {result}", flush=True)
    return results


def label(server: dict) -> str:
    return f"{server['server']} ({server['worker_class']})" if server["worker_class"] else server["server"]


def worker_used(log: Path) -> str:
    """The worker class gunicorn says it started, from its log."""
    found = re.search(r"Using worker: (\S+)", log.read_text())
    return found[1] if found else "unknown"


def run_ours(worker_class: str, args: argparse.Namespace, env: dict, scripts: dict[str, Path], work: Path) -> dict:
    """Our server under one worker class: its runs (and the format runs, if it is the first class),
    then a clean stop and its prediction log against the predictions it served."""
    folder = work / worker_class
    (folder / "prometheus").mkdir(parents=True)
    server_env = {
        **env,
        "PROMETHEUS_MULTIPROC_DIR": str(folder / "prometheus"),
        "SERVE_PREDICTION_DB": str(folder / "predictions.db"),
        "GUNICORN_BIND": f"127.0.0.1:{OURS_PORT}",
        "GUNICORN_WORKERS": str(args.workers),
        "GUNICORN_WORKER_CLASS": worker_class,
        "GUNICORN_THREADS": str(args.threads),
        "GUNICORN_KEEPALIVE": str(args.keep_alive),
    }
    command = [str(BIN_DIR / "gunicorn"), "-c", "serve/gunicorn.conf.py", "serve.wsgi:app"]
    server = {"server": OURS, "worker_class": worker_class, "url": f"{OURS_URL}/predict"}
    with serving(command, server_env, f"{OURS_URL}/ready", folder / "serve.log"):
        if (used := worker_used(folder / "serve.log")) != worker_class:
            raise RuntimeError(f"asked gunicorn for {worker_class} workers, it started {used}")
        runs = measure(server, scripts, args.seconds)
        if worker_class == args.worker_classes[0]:
            runs += measure_formats(server | {"url": f"{OURS_URL}/invocations"}, scripts, args.format_seconds)
        served = predictions_served(f"{OURS_URL}/metrics")
    with sqlite3.connect(folder / "predictions.db") as connection:
        logged = connection.execute("SELECT COUNT(*) FROM predictions").fetchone()[0]
    return {"runs": runs, "check": {"worker_class": worker_class, "logged": logged, "served": served}}


def run_mlflow(args: argparse.Namespace, env: dict, scripts: dict[str, Path], work: Path) -> list[dict]:
    command = [str(BIN_DIR / "mlflow"), "models", "serve", "-m", f"models:/{Settings().model_name}@champion"]
    command += ["--env-manager", "local", "-w", str(args.workers), "-h", "127.0.0.1", "-p", str(MLFLOW_PORT)]
    server = {"server": MLFLOW, "worker_class": None, "url": f"{MLFLOW_URL}/invocations"}
    with serving(command, env, f"{MLFLOW_URL}/ping", work / "mlflow.log"):
        return measure(server, scripts, args.seconds) + measure_formats(server, scripts, args.format_seconds)


def scripts_for(work: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    """wrk scripts: ours (/predict loads and /invocations formats) and mlflow's (the same loads as
    dataframe_records, and the same formats)."""
    single, batch = records(1)[0], records(100)
    formats = {
        name: wrk_script(work, f"format-{name}", body, content_type)
        for name, (content_type, body) in format_bodies(single).items()
    }
    ours = {"single": wrk_script(work, "predict1", json.dumps(single))}
    ours["batch100"] = wrk_script(work, "predict100", json.dumps(batch))
    theirs = {"single": wrk_script(work, "invocations1", json.dumps({"dataframe_records": [single]}))}
    theirs["batch100"] = wrk_script(work, "invocations100", json.dumps({"dataframe_records": batch}))
    return ours | formats, theirs | formats


def worker_classes(value: str) -> list[str]:
    classes = [name.strip() for name in value.split(",") if name.strip()]
    unknown = sorted(set(classes) - set(WORKER_CLASSES))
    if unknown or not classes:
        given = ", ".join(unknown) or "none given"
        raise argparse.ArgumentTypeError(f"{given}: choose from {', '.join(WORKER_CLASSES)}")
    return classes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="wrk seconds per load")
    parser.add_argument("--format-seconds", type=int, default=5, help="wrk seconds per request format")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-classes", type=worker_classes, default="sync,gthread", help=", ".join(WORKER_CLASSES))
    parser.add_argument("--threads", type=int, default=2, help="threads per gthread worker")
    parser.add_argument("--keep-alive", type=int, default=5, help="seconds a gthread/gevent worker keeps a connection")
    parser.add_argument("--out", type=Path, default=Path("bench/results/serve.json"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    ours, theirs = scripts_for(work)
    env = {**os.environ, **THREAD_PINNING, "MLFLOW_TRACKING_URI": tracking_uri()}
    env["PATH"] = f"{BIN_DIR}{os.pathsep}{env['PATH']}"

    runs, checks = [], []
    for worker_class in args.worker_classes:
        result = run_ours(worker_class, args, env, ours, work)
        runs += result["runs"]
        checks.append(result["check"])
    runs += run_mlflow(args, env, theirs, work)

    summary = summarise(runs, args.worker_classes)
    formats = summarise_formats(runs, args.worker_classes[0])
    report = {**provenance("bench.serve"), "worker_classes": args.worker_classes, "threads": args.threads}
    report |= {"keep_alive_s": args.keep_alive, "prediction_log": checks}
    report |= {"summary": summary, "formats": formats, "runs": runs}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print_table(summary, args.worker_classes)
    print_formats(formats, args.worker_classes[0])
    for check in checks:
        name, logged, served = check["worker_class"], check["logged"], check["served"]
        print(f"prediction log ({name}): {logged} rows for {served} predictions served")
    print(f"results in {args.out}")


def figures(run: dict, rows_per_request: int) -> dict:
    return {
        "rps": run["requests_per_s"],
        "rows_per_s": round(run["requests_per_s"] * rows_per_request, 2),
        "p50_ms": run["p50_ms"],
        "p99_ms": run["p99_ms"],
        "errors": run["errors"],
        "socket_errors": run["socket_errors"],
    }


def find(runs: list[dict], **match: object) -> dict:
    return next(r for r in runs if all(r.get(key) == value for key, value in match.items()))


def modes(runs: list[dict], load: dict) -> dict[str, dict]:
    """One server's figures for one load, per connection mode."""
    per_request = ROWS_PER_REQUEST[load["scenario"]]
    return {MODES[close]: figures(find(runs, new_connection=close, **load), per_request) for close in MODES}


def summarise(runs: list[dict], classes: list[str]) -> list[dict]:
    """Per load: every worker class in each mode, mlflow in each mode and its better one, and the
    ratio of each class with kept-open connections to mlflow's better mode."""
    rows = []
    for kind, connections in SCENARIOS:
        load = {"scenario": kind, "concurrency": connections}
        mlflow = modes([r for r in runs if r["server"] == MLFLOW], load)
        best = max(mlflow, key=lambda mode: mlflow[mode]["rps"])
        ours = {name: modes([r for r in runs if r["worker_class"] == name], load) for name in classes}
        ratio = {name: round(ours[name]["keep-alive"]["rps"] / mlflow[best]["rps"], 2) for name in classes}
        rows.append({**load, "ours": ours, "mlflow": mlflow, "mlflow_best": best, "ratio_keep_alive_to_best": ratio})
    return rows


def summarise_formats(runs: list[dict], worker_class: str) -> list[dict]:
    rows = []
    for name in FORMATS:
        ours = figures(find(runs, server=OURS, worker_class=worker_class, format=name), 1)
        theirs = figures(find(runs, server=MLFLOW, format=name), 1)
        ratio = round(ours["rps"] / theirs["rps"], 2) if theirs["rps"] else None
        rows.append({"format": name, "concurrency": FORMAT_CONCURRENCY, "ours": ours, "mlflow": theirs, "ratio": ratio})
    return rows


def print_table(summary: list[dict], classes: list[str]) -> None:
    print("| load | server | mode | req/s | rows/s | p50 ms | p99 ms | errors | vs mlflow best |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in summary:
        load = f"{row['scenario']} c={row['concurrency']}"
        for name in classes:
            for mode, result in row["ours"][name].items():
                ratio = f"{row['ratio_keep_alive_to_best'][name]:.2f}x" if mode == "keep-alive" else ""
                print(f"| {load} | {OURS} ({name}) | {mode} | {cells(result)} | {ratio} |")
        for mode, result in row["mlflow"].items():
            best = " (best)" if mode == row["mlflow_best"] else ""
            print(f"| {load} | {MLFLOW} | {mode}{best} | {cells(result)} |  |")


def print_formats(formats: list[dict], worker_class: str) -> None:
    print(f"\n| format, c={FORMAT_CONCURRENCY} keep-alive | {OURS} ({worker_class}) req/s | p99 ms | errors ", end="")
    print(f"| {MLFLOW} req/s | p99 ms | errors | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for row in formats:
        ours, theirs = row["ours"], row["mlflow"]
        ratio = f"{row['ratio']:.2f}x" if row["ratio"] is not None else "-"
        print(
            f"| {row['format']} | {ours['rps']:.0f} | {ours['p99_ms']:.1f} | {errors(ours)} | {theirs['rps']:.0f} | "
            f"{theirs['p99_ms']:.1f} | {errors(theirs)} | {ratio} |"
        )


def cells(result: dict) -> str:
    return (
        f"{result['rps']:.0f} | {result['rows_per_s']:.0f} | {result['p50_ms']:.1f} | {result['p99_ms']:.1f} | "
        f"{errors(result)}"
    )


def errors(result: dict) -> str:
    """Non-2xx responses, and socket errors after a slash when there are any."""
    return f"{result['errors']}" + (f" / {result['socket_errors']} socket" if result["socket_errors"] else "")


if __name__ == "__main__":
    main()
