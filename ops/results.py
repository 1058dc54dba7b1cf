"""results: the pipeline's scores as one compact table, a row per candidate (what `make repro` ends with).

    python -m ops.results [--metrics metrics] [--reports reports]

Reads what the stages wrote: each candidate's scores (metrics/<candidate>.json, from evaluate), its
fit time (reports/train/<candidate>.json, from train and blend), the bootstrap intervals of the test
RMSE differences (reports/intervals.json, from evaluate) and the registration
(reports/registered.json). RMSE and MAE are in $100,000.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from housing.names import MODEL_FAMILY
from stages.errors import StageError, exits_cleanly
from stages.params import CANDIDATES

COLUMNS = ("val_rmse", "val_mae", "val_r2", "test_rmse", "test_mae", "test_r2")
HEADER = (
    "candidate",
    *("val RMSE", "val MAE", "val R²", "test RMSE", "test MAE", "test R²"),
    "fit s",
    "test RMSE vs * (95%)",
)


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise StageError(f"{path}: not there yet; run `make repro` first") from None


def table(metrics: Path, reports: Path) -> str:
    receipt = read_json(reports / "registered.json")
    intervals = read_json(reports / "intervals.json")["test_rmse"]
    rows: list[tuple[str, ...]] = [HEADER]
    for candidate in CANDIDATES:
        scores = read_json(metrics / f"{candidate}.json")
        fit_seconds = read_json(reports / "train" / f"{candidate}.json")["fit_seconds"]
        mark = " *" if candidate == receipt[MODEL_FAMILY] else ""
        cells = (*(f"{scores[name]:.4f}" for name in COLUMNS), f"{fit_seconds:.1f}", interval(intervals.get(candidate)))
        rows.append((candidate + mark, *cells))
    promoted = "promoted to champion" if receipt["promoted"] else "kept as challenger"
    footnotes = [
        f"* best validation RMSE: registered as {receipt['model_name']} v{receipt['version']}, {promoted}",
        f"  ({receipt['comparison']['summary']})",
        "  (paired bootstrap of the test rows; an interval around 0 is noise)",
    ]
    return "\n".join([*aligned(rows), *footnotes])


def interval(difference: dict | None) -> str:
    """A candidate's test RMSE minus the selected one's, with its 95% interval; blank for the selected."""
    if difference is None:
        return ""
    noise = " noise" if difference["noise"] else ""
    return f"{difference['difference']:+.4f} [{difference['low']:+.4f}, {difference['high']:+.4f}]{noise}"


def aligned(rows: list[tuple[str, ...]]) -> list[str]:
    """The rows as text columns: the first left-aligned, the numbers right-aligned."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return [
        "  ".join(
            [row[0].ljust(widths[0]), *(cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True))]
        ).rstrip()
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
