"""The benchmarks' tables, rendered from bench/results/*.json when the manual is built, each under the
date, machine and command that made it: a figure on a page is the figure in the file.

The benchmarks whose files have a known shape get the table a reader compares along (bench/serve's
servers side by side, bench/scale's sizes and engines); any other file, a new benchmark's included, is
rendered as it is: its scalars, then each list or mapping of records as a table.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ops.markdown_text import table
from ops.results import interval

PROJECT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT / "bench" / "results"
PROVENANCE = ("date", "machine", "command", "provenance_note")
SOURCE_ROWS = 20_640
"""Rows of the real data at one copy (bench/scale's `copies` multiply it)."""


def result_names(results: Path = RESULTS) -> list[str]:
    return sorted(path.stem for path in results.glob("*.json"))


def all_results(results: Path = RESULTS) -> str:
    """Every result file, one section each, in name order."""
    return "\n\n".join(f"## {name}\n\n{result_section(name, results)}" for name in result_names(results))


def result_section(name: str, results: Path = RESULTS) -> str:
    """One file's provenance line and tables."""
    path = results / f"{name}.json"
    result = json.loads(path.read_text())
    render = RENDERERS.get(name) or (serve_tables if _is_serve_comparison(result) else generic_tables)
    return f"{provenance(result, path)}\n\n{render(result)}"


def provenance(result: dict[str, Any], path: Path) -> str:
    machine = result.get("machine", "not recorded")
    if isinstance(machine, dict):
        machine = ", ".join(f"{key} {value}" for key, value in machine.items())
    command = f"`{result['command']}`" if "command" in result else "not recorded"
    date = result.get("date", "not recorded")
    note = f" ({result['provenance_note']})" if "provenance_note" in result else ""
    return f"`{path.relative_to(PROJECT)}`: measured {date} on {machine}, by {command}{note}."


def number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1000:
        return f"{int(value):,}"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 1000:
        return f"{value:,}"
    return "" if value is None else str(value)


def _is_serve_comparison(result: dict[str, Any]) -> bool:
    summary = result.get("summary")
    return isinstance(summary, list) and bool(summary) and isinstance(summary[0].get("ours"), dict)


def _load(scenario: dict[str, Any]) -> str:
    records = "100 records" if scenario["scenario"] == "batch100" else "1 record"
    return f"{records}, concurrency {scenario['concurrency']}"


def _speed(figures: dict[str, Any], batch: bool) -> str:
    rate = f"{number(figures['rows_per_s'])} rows/s" if batch else f"{number(figures['rps'])} req/s"
    return f"{rate}, p99 {figures['p99_ms']} ms"


def serve_tables(result: dict[str, Any]) -> str:
    """bench/serve: this server per worker class and `mlflow models serve`, kept-alive and new connections."""
    first = result["summary"][0]
    ours = [(worker, mode) for worker, modes in first["ours"].items() for mode in modes]
    header = ["load", *(f"this server, {worker}, {mode}" for worker, mode in ours)]
    header += [f"`mlflow models serve`, {mode}" for mode in first["mlflow"]]
    header += [f"{worker}: kept alive to MLflow's better" for worker in first["ratio_keep_alive_to_best"]]
    rows = []
    for scenario in result["summary"]:
        batch = scenario["scenario"] == "batch100"
        cells = [_speed(scenario["ours"][worker][mode], batch) for worker, mode in ours]
        cells += [_speed(figures, batch) for figures in scenario["mlflow"].values()]
        cells += [f"{ratio}x" for ratio in scenario["ratio_keep_alive_to_best"].values()]
        rows.append([_load(scenario), *cells])
    parts = [table(header, rows)]
    if result.get("formats"):
        format_rows = [
            (f"`{item['format']}`", item["ours"]["rps"], item["mlflow"]["rps"], f"{item['ratio']}x")
            for item in result["formats"]
        ]
        concurrency = result["formats"][0]["concurrency"]
        header = [f"`/invocations`, 1 record, concurrency {concurrency}", "this server req/s", "MLflow req/s", "ratio"]
        parts.append(table(header, format_rows))
    if result.get("prediction_log"):
        logged = [
            (item["worker_class"], number(item["served"]), number(item["logged"])) for item in result["prediction_log"]
        ]
        parts.append(table(["worker class", "predictions served", "rows in the prediction log"], logged))
    return "\n\n".join(parts)


def gpu_table(result: dict[str, Any]) -> str:
    """bench/gpu: each family's CPU and GPU fit side by side."""
    by_family: dict[str, dict[str, dict[str, Any]]] = {}
    for row in result["rows"]:
        by_family.setdefault(row["family"], {})[row["device"]] = row
    rows = []
    for family, runs in by_family.items():
        cpu, gpu = runs.get("cpu", {}), runs.get("cuda", {})
        speed = round(cpu["fit_seconds"] / gpu["fit_seconds"], 2) if cpu and gpu else ""
        peak = gpu.get("telemetry", {}).get("gpu_memory_peak_mb", "")
        samples = [number(run.get("best_epoch_samples_per_s") or run.get("samples_per_s")) for run in (cpu, gpu)]
        rows.append(
            (
                family,
                cpu.get("fit_seconds", ""),
                gpu.get("fit_seconds", ""),
                f"{speed}x" if speed else "",
                f"{cpu.get('val_rmse', '')} / {gpu.get('val_rmse', '')}",
                " / ".join(samples),
                f"{number(peak)} MB" if peak else "-",
            )
        )
    header = ["family", "CPU fit s", "GPU fit s", "GPU / CPU speed", "val RMSE CPU / GPU", "samples/s CPU / GPU"]
    return f"Preset: `{result.get('preset', 'default')}`.\n\n" + table([*header, "peak GPU memory"], rows)


def scale_table(result: dict[str, Any]) -> str:
    """bench/scale: each stage's wall time and memory per size and engine, against the smallest size and
    against the other engine."""
    rows_in = result["rows"]
    smallest = min(row["copies"] for row in rows_in)
    seconds = {(row["copies"], row["stage"], row["engine"]): row["seconds"] for row in rows_in}
    rows = []
    for row in rows_in:
        growth = row["seconds"] / seconds[(smallest, row["stage"], row["engine"])]
        local = seconds.get((row["copies"], row["stage"], "local"))
        versus_local = f"{row['seconds'] / local:.2f}x" if row["engine"] == "dask" and local else ""
        rows.append(
            (
                f"{row['copies'] * SOURCE_ROWS:,}",
                row["stage"],
                row["engine"],
                row["seconds"],
                f"{growth:.1f}x",
                versus_local,
                f"{row['peak_memory_mb']:,}",
                row.get("fit_seconds", ""),
                row.get("val_rmse", ""),
            )
        )
    header = [
        "rows",
        "stage",
        "engine",
        "wall s",
        "x the smallest size",
        "dask / local",
        "peak memory MB",
        "fit s",
        "val RMSE",
    ]
    return f"Boosters at {result.get('rounds', '?')} fixed rounds.\n\n" + table(header, rows)


def predict_table(result: dict[str, Any]) -> str:
    """bench/predict: one validated row through each loaded pipeline and through its fast path."""
    rows = [
        (name, figures["median_us"], figures["p99_us"], figures["vs_lightgbm"], figures.get("speed_up", ""))
        for name, figures in result["single_row"].items()
    ]
    header = ["model", "median µs", "p99 µs", "vs the LightGBM pipeline", "fast path's speed-up"]
    return f"{number(result.get('rounds'))} rounds, interleaved.\n\n" + table(header, rows)


def profile_table(result: dict[str, Any]) -> str:
    """bench/profile: the share of a worker's CPU each part of the request path takes."""
    load = result["load"]
    intro = (
        f"One `{result['worker_class']}` worker, prediction path `{result['prediction_path']}`, "
        f"{number(load['requests'])} requests at {load['requests_per_s']} req/s (p99 {load['p99_ms']} ms), "
        f"{number(result['samples'])} samples, {result['cpu_us_per_request']} µs of CPU per request."
    )
    rows = [(part["part"], f"{part['share'] * 100:.1f}%", part["cpu_us_per_request"]) for part in result["parts"]]
    return intro + "\n\n" + table(["part of the request", "share of the worker's CPU", "µs per request"], rows)


def quality_tables(result: dict[str, Any]) -> str:
    """bench/quality: each candidate's test RMSE over the split seeds, against the plain reference, and
    the blend's pooled paired difference to it; then each seed's run."""
    against = result["blend_against"]
    candidates = {**result["candidates"], "recipe (the candidate validation selects)": result["recipe"]}
    rows = [
        (
            name,
            figures["mean"],
            figures["std"],
            f"{figures['min']} to {figures['max']}",
            f"{figures['ratio_to_reference']:.3f}",
            interval(against.get(name)),
        )
        for name, figures in candidates.items()
    ]
    header = ["candidate", "mean test RMSE", "std", "range", "/ reference", "minus the blend, pooled 95% interval"]
    seeds = [
        (seed["seed"], seed["selected"], number(seed["test_rows"]), seed["pipeline_s"], seed["test_rmse"]["reference"])
        for seed in result["seeds"]
    ]
    intro = (
        f"{len(result['seeds'])} split seeds, {number(result['resamples'])} bootstrap resamples; the reference is"
        f" {result['reference']}. RMSE in $100,000. Wall time {number(result['wall_s'])} s."
    )
    per_seed = table(["seed", "selected", "test rows", "pipeline s", "reference test RMSE"], seeds)
    return f"{intro}\n\n{table(header, rows)}\n\n{per_seed}"


def generic_tables(result: dict[str, Any]) -> str:
    """Any result file: its scalars in one table, then each nested list or mapping as a table of its own."""
    scalars = [(key, number(value)) for key, value in result.items() if key not in PROVENANCE and _is_scalar(value)]
    parts = [table(["", "value"], scalars)] if scalars else []
    for key, value in result.items():
        if key not in PROVENANCE and not _is_scalar(value):
            parts.append(f"`{key}`:\n\n{_structure(value)}")
    return "\n\n".join(parts)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = json.dumps(value) if isinstance(value, list) else value
    return flat


def _structure(value: dict[str, Any] | list[Any]) -> str:
    if isinstance(value, list):
        if not all(isinstance(item, dict) for item in value):
            return ", ".join(json.dumps(item) for item in value)
        records = [_flatten(item) for item in value]
    elif all(isinstance(item, dict) for item in value.values()):
        records = [{"": name, **_flatten(item)} for name, item in value.items()]
    else:
        return table(["", "value"], [(key, number(item)) for key, item in _flatten(value).items()])
    columns = list(dict.fromkeys(column for record in records for column in record))
    return table(columns, [[number(record.get(column)) for column in columns] for record in records])


RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "gpu": gpu_table,
    "predict": predict_table,
    "profile": profile_table,
    "quality": quality_tables,
    "scale": scale_table,
}
