"""bench/quality: every candidate's test RMSE over several split seeds, against a plain reference.

    python -m bench.quality --source housing.csv [--seeds 42 7 1 2 3]     (make bench-quality SOURCE=...)

One split's test RMSE rewards luck as much as the recipe: across seeds the same recipe's score moves
by more than most gaps between candidates. So each seed gets a scratch clone of the committed project
and an MLflow store of its own, where `dvc repro evaluate` runs the pipeline with `seed` set (the split
and the models' seeds), exactly as a user's run; nothing is registered. On the same splits, a plain
reference: LightGBM with its default params on the raw columns (no neighbour features, no target
transform), so each candidate's mean is also a ratio to a baseline measured in the same run.

Reports per candidate the mean, standard deviation and range of test RMSE; the recipe's (the candidate
validation selects, which register would register) the same; and the blend's paired difference to
every other candidate, with a bootstrap interval pooled over the splits (housing.scores). Writes
bench/results/quality.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lightgbm
import numpy as np
import pandas as pd
import yaml

from bench.provenance import provenance
from housing.schema import RAW_COLUMNS
from housing.scores import pooled_rmse_difference_intervals, regression_scores
from stages.params import BLEND, CANDIDATES
from stages.splits import load_split
from tests.support.dvc_repo import project_environment

PROJECT = Path(__file__).resolve().parents[1]
REFERENCE = "reference"
"""LightGBM's defaults on the raw columns: what a first attempt would score."""
RESAMPLES = 2000


def git(*args: str, cwd: Path = PROJECT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def scratch_environment(store: Path, source: Path | None) -> dict[str, str]:
    """The project's interpreter and tools, the seed's own store, none of the caller's MLflow or DVC settings."""
    environment = project_environment()
    environment.update(VIRTUAL_ENV=sys.prefix, MLFLOW_TRACKING_URI=f"sqlite:///{store}")
    if source is not None:
        environment["INGEST_SOURCE"] = str(source.resolve())
    return environment


def run_pipeline(work: Path, commit: str, seed: int, source: Path | None) -> tuple[Path, float]:
    """A clone of the project at `commit` in `work`, its pipeline run to evaluate with `seed`; its
    folder and the wall time of the run."""
    repo = work / "repo"
    git("clone", "--quiet", "--local", "--no-checkout", str(PROJECT), str(repo))
    git("checkout", "--quiet", commit, cwd=repo)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    (repo / "params.yaml").write_text(yaml.safe_dump({**params, "seed": seed}, sort_keys=False))
    started = time.perf_counter()
    subprocess.run(
        ["dvc", "repro", "evaluate"], cwd=repo, env=scratch_environment(work / "mlflow.db", source), check=True
    )
    return repo, time.perf_counter() - started


def reference_predictions(splits: Path, seed: int) -> np.ndarray:
    """The plain reference, fitted on the train split and predicting the test split ($100,000)."""
    X_train, y_train = load_split(splits, "train")
    X_test, _ = load_split(splits, "test")
    categorical = {"ocean_proximity": pd.CategoricalDtype(sorted(X_train["ocean_proximity"].unique()))}
    model = lightgbm.LGBMRegressor(random_state=seed, verbose=-1)
    model.fit(X_train[RAW_COLUMNS].astype(categorical), y_train)
    return model.predict(X_test[RAW_COLUMNS].astype(categorical))


def measure_seed(
    work: Path, commit: str, seed: int, source: Path | None
) -> tuple[dict, np.ndarray, dict[str, np.ndarray]]:
    """One split: its summary, its test targets, and each candidate's test predictions (the reference's too)."""
    repo, seconds = run_pipeline(work, commit, seed, source)
    splits = repo / "data" / "processed"
    _, actual = load_split(splits, "test")
    predicted = {
        candidate: pd.read_csv(repo / "plots" / "predictions" / f"{candidate}.csv")["predicted"].to_numpy()
        for candidate in CANDIDATES
    }
    predicted[REFERENCE] = reference_predictions(splits, seed)
    selected = json.loads((repo / "reports" / "intervals.json").read_text())["selected"]
    test_rmse = {name: regression_scores(actual, values)["rmse"] for name, values in predicted.items()}
    summary = {"seed": seed, "test_rows": len(actual), "selected": selected, "pipeline_s": round(seconds, 1)}
    return {**summary, "test_rmse": test_rmse}, actual, predicted


def spread(values: list[float]) -> dict[str, float]:
    return {
        "mean": round(statistics.fmean(values), 5),
        "std": round(statistics.stdev(values), 5) if len(values) > 1 else 0.0,
        "min": min(values),
        "max": max(values),
    }


def summarise(seeds: list[dict], samples: list[tuple[np.ndarray, dict[str, np.ndarray]]]) -> dict:
    names = [*CANDIDATES, REFERENCE]
    candidates = {name: spread([seed["test_rmse"][name] for seed in seeds]) for name in names}
    recipe = spread([seed["test_rmse"][seed["selected"]] for seed in seeds])
    reference = candidates[REFERENCE]["mean"]
    for figures in (*candidates.values(), recipe):
        figures["ratio_to_reference"] = round(figures["mean"] / reference, 4)
    return {
        "candidates": candidates,
        "recipe": recipe,
        "blend_against": pooled_rmse_difference_intervals(samples, BLEND, RESAMPLES, seed=0),
    }


def print_table(report: dict) -> None:
    print(f"\n{len(report['seeds'])} split seeds {[seed['seed'] for seed in report['seeds']]}, test RMSE ($100,000)")
    print("| candidate | mean | std | min | max | / reference | other - blend, pooled 95% interval |")
    print("|---|---|---|---|---|---|---|")
    rows = {**report["candidates"], "recipe (selected)": report["recipe"]}
    for name, figures in rows.items():
        against = report["blend_against"].get(name)
        interval = f"{against['difference']:+.4f} [{against['low']:+.4f}, {against['high']:+.4f}]" if against else ""
        print(
            f"| {name} | {figures['mean']:.4f} | {figures['std']:.4f} | {figures['min']:.4f} | {figures['max']:.4f}"
            f" | {figures['ratio_to_reference']:.3f} | {interval} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, help="the housing CSV (default: ingest.source, downloaded)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[42, 7, 1, 2, 3], help="the split seeds")
    parser.add_argument("--out", type=Path, default=PROJECT / "bench/results/quality.json")
    args = parser.parse_args()
    if git("status", "--porcelain", "--untracked-files=no"):
        print("bench.quality: the work tree has uncommitted changes; the scratch clones run HEAD as it is now")
    commit = git("rev-parse", "HEAD")
    started = time.perf_counter()
    seeds, samples = [], []
    with tempfile.TemporaryDirectory(prefix="bench-quality-") as scratch:
        for seed in args.seeds:
            summary, actual, predicted = measure_seed(Path(scratch) / f"seed-{seed}", commit, seed, args.source)
            seeds.append(summary)
            samples.append((actual, predicted))
    report = {
        **provenance("bench.quality"),
        "commit": commit,
        "wall_s": round(time.perf_counter() - started, 1),
        "reference": "lightgbm.LGBMRegressor() defaults on the raw columns, fitted on each train split",
        "resamples": RESAMPLES,
        **summarise(seeds, samples),
        "seeds": seeds,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)


if __name__ == "__main__":
    main()
