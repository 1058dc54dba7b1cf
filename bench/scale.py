"""bench/scale: the pipeline's stages at 1x, 10x and 100x the rows, on the local and the Dask engine.

    make bench-scale SOURCE=../shared/data/housing.csv          # 20k, 200k and 2M rows
    python -m bench.scale --source housing.csv --copies 1 10 --families xgboost --rounds 100

For each size, a scratch project (params.yaml from this one, `ingest.upsample` set to the number of
copies) runs ingest and preprocess once, then each train stage under each engine, exactly as
`dvc repro` runs them (`python -m stages.<stage>`), boosters at fixed rounds (early stopping off).
It measures each stage's wall time and peak memory (the resident memory of the stage's process tree
summed, Dask's worker processes included, sampled every 0.2 s) and reads val RMSE from the train
report. Blend, evaluate and register are not run: their cost follows the train stages'. The random
forest and the MLP fit locally under either engine, and at 2M rows they would dominate the run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import yaml

from bench.provenance import provenance
from stages.dask_engine import DASK_FIT

PROJECT = Path(__file__).resolve().parents[1]
SAMPLE_EVERY_S = 0.2
SOURCE_ROWS = 20_640
STAGES = {
    "ingest": ["--incoming", "data/incoming", "--out", "data/raw/housing.csv"],
    "preprocess": ["--raw", "data/raw/housing.csv", "--out", "data/processed", "--report", "reports/preprocess.json"],
}


def train_args(family: str) -> list[str]:
    return [family, "--splits", "data/processed", "--out", f"models/{family}", "--report", f"reports/{family}.json"]


def peak_rss_mb(process: psutil.Process, stop: threading.Event, peak: list[float]) -> None:
    """Keep in peak[0] the largest summed RSS of `process` and its descendants until `stop` is set."""
    while not stop.wait(SAMPLE_EVERY_S):
        try:
            tree = [process, *process.children(recursive=True)]
            total = 0
            for member in tree:
                try:
                    total += member.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
        except psutil.NoSuchProcess:
            return
        peak[0] = max(peak[0], total / 2**20)


def environment(work: Path) -> dict[str, str]:
    """The stages' environment: this project's code, the scratch MLflow store, --source as the only source."""
    inherited = {name: value for name, value in os.environ.items() if name != "INGEST_SOURCE"}
    return {**inherited, "PYTHONPATH": str(PROJECT), "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}"}


def create_tracking_store(work: Path) -> None:
    """The scratch MLflow store, created before any stage is timed (its migrations take seconds)."""
    code = "import mlflow; mlflow.MlflowClient().search_experiments()"
    subprocess.run([sys.executable, "-c", code], cwd=work, env=environment(work), check=True)


def run_stage(work: Path, module: str, args: list[str]) -> dict:
    """Run `python -m stages.<module> ARGS` in `work`; its wall seconds and peak memory, or exit on failure."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", f"stages.{module}", *args],
        cwd=work,
        env=environment(work),
        stdout=subprocess.PIPE,
        text=True,
    )
    stop, peak = threading.Event(), [0.0]
    sampler = threading.Thread(target=peak_rss_mb, args=(psutil.Process(process.pid), stop, peak), daemon=True)
    sampler.start()
    output, _ = process.communicate()
    seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    if process.returncode:
        sys.exit(f"bench/scale: stages.{module} {' '.join(args)} failed in {work} (exit {process.returncode})")
    print(output.strip(), flush=True)
    return {"seconds": round(seconds, 1), "peak_memory_mb": round(peak[0])}


def scratch_params(copies: int, source: Path, rounds: int) -> dict:
    """This project's params (ingest.sha256 checks the source), ingesting `source` `copies` times over,
    boosters at `rounds` fixed rounds."""
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    params["ingest"].update(source=str(source.resolve()), upsample=copies)
    for family in ("xgboost", "lightgbm"):
        params["train"][family].update(n_estimators=rounds, early_stopping_rounds=rounds)
    return params


def measure_size(copies: int, source: Path, families: list[str], engines: list[str], rounds: int) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix=f"scale-{copies}x-") as scratch:
        work = Path(scratch)
        params = scratch_params(copies, source, rounds)
        (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        create_tracking_store(work)
        for stage, args in STAGES.items():
            rows.append({"copies": copies, "stage": stage, "engine": "", **run_stage(work, stage, args)})
        for family in families:
            for engine in engines if family in DASK_FIT else ["local"]:
                (work / "params.yaml").write_text(yaml.safe_dump({**params, "engine": engine}, sort_keys=False))
                measured = run_stage(work, "train", train_args(family))
                report = json.loads((work / "reports" / f"{family}.json").read_text())
                rows.append(
                    {
                        "copies": copies,
                        "stage": f"train@{family}",
                        "engine": engine,
                        **measured,
                        "fit_seconds": report["fit_seconds"],
                        "val_rmse": report["val"]["rmse"],
                    }
                )
    return rows


def print_table(rows: list[dict]) -> None:
    smallest = min(row["copies"] for row in rows)
    base = {(row["stage"], row["engine"]): row["seconds"] for row in rows if row["copies"] == smallest}
    local = {(row["copies"], row["stage"]): row["seconds"] for row in rows if row["engine"] in ("", "local")}
    print("| rows | stage | engine | wall s | x the smallest size | dask / local | peak memory MB | val RMSE |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        growth = row["seconds"] / base[row["stage"], row["engine"]]
        versus = row["seconds"] / local[row["copies"], row["stage"]] if row["engine"] == "dask" else None
        rmse = f"{row['val_rmse']:.4f}" if "val_rmse" in row else ""
        print(
            f"| {row['copies'] * SOURCE_ROWS:,} | {row['stage']} | {row['engine']} | {row['seconds']} | "
            f"{growth:.1f}x | {f'{versus:.2f}x' if versus else ''} | {row['peak_memory_mb']:,} | {rmse} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="the housing CSV (ingest.source or a copy)")
    parser.add_argument("--copies", nargs="+", type=int, default=[1, 10, 100], help="ingest.upsample of each size")
    parser.add_argument("--families", nargs="+", choices=sorted(DASK_FIT), default=["linear", "xgboost", "lightgbm"])
    parser.add_argument("--engines", nargs="+", choices=["local", "dask"], default=["local", "dask"])
    parser.add_argument("--rounds", type=int, default=300, help="boosting rounds, fixed (no early stopping)")
    parser.add_argument("--out", type=Path, default=PROJECT / "bench/results/scale.json")
    args = parser.parse_args()
    rows = []
    for copies in args.copies:
        rows += measure_size(copies, args.source, args.families, args.engines, args.rounds)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        report = {**provenance("bench.scale"), "rounds": args.rounds, "rows": rows}
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    print_table(rows)


if __name__ == "__main__":
    main()
