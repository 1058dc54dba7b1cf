"""results: the pipeline's scores as one compact table, a row per family (what `make repro` ends with).

    python -m ops.results [--metrics metrics] [--reports reports]

Reads what the stages wrote: each family's scores (metrics/<family>.json, from evaluate), its fit
time (reports/train/<family>.json, from train) and the registration (reports/registered.json).
RMSE and MAE are in $100,000.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from stages.errors import StageError, exits_cleanly
from stages.params import MODEL_PARAMS

COLUMNS = ("val_rmse", "val_mae", "val_r2", "test_rmse", "test_mae", "test_r2")
HEADER = ("family", "val RMSE", "val MAE", "val R²", "test RMSE", "test MAE", "test R²", "fit s")


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise StageError(f"{path}: not there yet; run `make repro` first") from None


def table(metrics: Path, reports: Path) -> str:
    receipt = read_json(reports / "registered.json")
    rows = [HEADER]
    for family in MODEL_PARAMS:
        scores = read_json(metrics / f"{family}.json")
        fit_seconds = read_json(reports / "train" / f"{family}.json")["fit_seconds"]
        mark = " *" if family == receipt["model_family"] else ""
        rows.append((family + mark, *(f"{scores[name]:.4f}" for name in COLUMNS), f"{fit_seconds:.1f}"))
    promoted = "promoted to champion" if receipt["promoted"] else "kept as challenger (it did not beat the champion)"
    footnote = f"* best validation RMSE: registered as {receipt['model_name']} v{receipt['version']}, {promoted}"
    return "\n".join([*aligned(rows), footnote])


def aligned(rows: list[tuple[str, ...]]) -> list[str]:
    """The rows as text columns: the first left-aligned, the numbers right-aligned."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return [
        "  ".join(
            [row[0].ljust(widths[0]), *(cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True))]
        )
        for row in rows
    ]


@exits_cleanly
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", type=Path, default=Path("metrics"))
    parser.add_argument("--reports", type=Path, default=Path("reports"))
    args = parser.parse_args()
    print(table(args.metrics, args.reports))


if __name__ == "__main__":
    main()
