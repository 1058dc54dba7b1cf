"""In-process single-row predict time of each candidate, as the server calls it.

    python -m bench.predict [--models models] [--rounds 2000] [--out bench/results/predict.json]

Loads every saved model of the last `dvc repro` (models/<candidate>) the way serve does (the raw
scikit-learn pipeline, single-threaded), then times `predict` on one validated row given as columns
(serve.prediction.records_columns), the request path minus HTTP; and the feature step alone, which
the blend runs once for all its members; and each candidate's exact fast path (housing.fast), the way
the server predicts once the golden set proves it. Rounds of the candidates interleave, so a change in
the machine's speed during the run touches all of them alike; the table reports medians, each
pipeline's ratio to LightGBM alone and each fast path's speed-up over its pipeline.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import mlflow
import numpy as np

from bench.provenance import provenance
from housing.fast import fast_path, single_threaded
from housing.schema import HousingRow
from serve.prediction import records_columns
from stages.params import CANDIDATES
from stages.splits import load_split

REFERENCE = "lightgbm"
FAST = "fast"
FEATURE_STEP = "feature step"
"""The preprocessing alone (features and scaling), which every candidate runs once per row."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--splits", type=Path, default=Path("data/processed"))
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path("bench/results/predict.json"))
    args = parser.parse_args()

    pipelines = {
        name: single_threaded(mlflow.pyfunc.load_model(str(args.models / name)).get_raw_model()) for name in CANDIDATES
    }
    X_val, _ = load_split(args.splits, "val")
    complete = X_val.dropna().head(50)
    rows = [records_columns([HousingRow(**record)]) for record in complete.to_dict("records")]
    calls = {name: pipeline.predict for name, pipeline in pipelines.items()}
    calls[FEATURE_STEP] = pipelines["blend"][:-1].transform
    calls |= {f"{FAST} {name}": fast_path(pipeline).predict for name, pipeline in pipelines.items()}
    timings: dict[str, list[float]] = {name: [] for name in calls}
    for round_number in range(args.rounds):
        row = rows[round_number % len(rows)]
        for name, call in calls.items():
            started = time.perf_counter()
            call(row)
            timings[name].append(time.perf_counter() - started)
    median_us = {name: statistics.median(values) * 1e6 for name, values in timings.items()}
    p99_us = {name: float(np.percentile(values, 99)) * 1e6 for name, values in timings.items()}
    summary = {
        name: {
            "median_us": round(median_us[name], 1),
            "p99_us": round(p99_us[name], 1),
            "vs_lightgbm": round(median_us[name] / median_us[REFERENCE], 2),
        }
        for name in calls
    }
    for name in pipelines:
        summary[f"{FAST} {name}"]["speed_up"] = round(median_us[name] / median_us[f"{FAST} {name}"], 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {**provenance("bench.predict"), "rounds": args.rounds, "single_row": summary}
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{'candidate':<20}{'median µs':>10}{'p99 µs':>10}{'vs lightgbm':>13}{'fast speed-up':>15}")
    for name, figures in summary.items():
        speed_up = f"{figures['speed_up']:>14.2f}x" if "speed_up" in figures else ""
        print(
            f"{name:<20}{figures['median_us']:>10.1f}{figures['p99_us']:>10.1f}{figures['vs_lightgbm']:>12.2f}x{speed_up}"
        )


if __name__ == "__main__":
    main()
