"""bench/gpu: each model family's fit on the CPU and on the GPU with the same params, side by side.

    make bench-gpu                                   # or: python -m bench.gpu --preset gpu
    python -m bench.gpu --preset default --families mlp xgboost

Fits the real training pipeline (features inside) on data/processed (run `make repro` first) and
prints fit seconds, training samples/s (and the MLP's best epoch throughput), peak memory (GPU
memory from NVML or torch on CUDA, the process's peak RSS on the CPU) and validation RMSE; the table
is also written as JSON. Without CUDA it measures the CPU column only. On a GPU machine,
bench/gpu_run.sh checks what it needs, then runs it and the CUDA-only tests.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path

import torch

from housing.scores import regression_scores
from housing.target import final_estimator
from ops.presets import PRESETS, section_overrides
from stages.families import fit_pipeline
from stages.params import MODEL_PARAMS, FeatureParams, load_family_params, load_params
from stages.splits import TrainingData, load_split
from stages.telemetry import cpu_name, fit_telemetry


def fit_once(family: str, preset: str | None, device: str, data: dict) -> dict:
    params = load_family_params(family)
    if preset:
        params = params.model_copy(update=section_overrides(preset, f"train.{family}"))
    features = load_params("features", FeatureParams)
    seed = load_params("seed", int)
    (X, y), (X_val, y_val) = data["train"], data["val"]
    with fit_telemetry(device) as telemetry:
        started = time.perf_counter()
        pipeline, _ = fit_pipeline(family, params, features, device, seed, TrainingData(X, y, X_val, y_val))
        fit_seconds = time.perf_counter() - started
    epochs = getattr(final_estimator(pipeline), "epoch_samples_per_s_", None)
    peak = telemetry.get("gpu_memory_peak_mb") or telemetry.get("torch_peak_memory_mb")
    return {
        "family": family,
        "device": device,
        "device_name": telemetry["device_name"],
        "fit_seconds": round(fit_seconds, 2),
        "samples_per_s": round(len(X) / fit_seconds),
        "best_epoch_samples_per_s": round(max(epochs)) if epochs else None,
        "peak_memory_mb": peak if device == "cuda" else telemetry["process_peak_rss_mb"],
        "val_rmse": regression_scores(y_val, pipeline.predict(X_val))["rmse"],
        "telemetry": telemetry,
    }


def print_table(rows: list[dict]) -> None:
    print("| model | device | fit s | samples/s | best epoch samples/s | peak memory MB | val RMSE | speed-up |")
    print("|---|---|---|---|---|---|---|---|")
    cpu_seconds = {row["family"]: row["fit_seconds"] for row in rows if row["device"] == "cpu"}
    for row in rows:
        speedup = cpu_seconds.get(row["family"], 0) / row["fit_seconds"] if row["device"] == "cuda" else None
        print(
            f"| {row['family']} | {row['device']} | {row['fit_seconds']} | {row['samples_per_s']:,} | "
            f"{row['best_epoch_samples_per_s'] or ''} | {row['peak_memory_mb']} | {row['val_rmse']:.4f} | "
            f"{f'{speedup:.1f}x' if speedup else ''} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=[*PRESETS, "default"], default="gpu")
    parser.add_argument("--families", nargs="+", choices=list(MODEL_PARAMS), default=list(MODEL_PARAMS))
    parser.add_argument("--devices", nargs="+", choices=["cpu", "cuda"], default=["cpu", "cuda"])
    parser.add_argument("--splits", type=Path, default=Path("data/processed"))
    parser.add_argument("--out", type=Path, default=Path("bench/results/gpu.json"))
    args = parser.parse_args()
    devices = [device for device in args.devices if device == "cpu" or torch.cuda.is_available()]
    if devices != args.devices:
        print("no CUDA GPU visible: measuring the CPU only")
    data = {name: load_split(args.splits, name) for name in ("train", "val")}
    preset = None if args.preset == "default" else args.preset
    rows = []
    measured = {
        "date": date.today().isoformat(),
        "machine": {
            "cpu": cpu_name(),
            "cpus": os.cpu_count(),
            "gpu": torch.cuda.get_device_name() if "cuda" in devices else None,
        },
        "command": " ".join(["python -m bench.gpu", *sys.argv[1:]]),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for family in args.families:
        for device in devices:
            rows.append(fit_once(family, preset, device, data))
            print(f"{family} on {device}: {rows[-1]['fit_seconds']} s, val RMSE {rows[-1]['val_rmse']:.4f}", flush=True)
            # Written after every fit: a run stopped at a time limit still leaves what it measured.
            args.out.write_text(json.dumps({**measured, "preset": args.preset, "rows": rows}, indent=2) + "\n")
    print_table(rows)


if __name__ == "__main__":
    main()
