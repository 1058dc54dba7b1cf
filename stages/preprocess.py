"""preprocess: validate every raw row against the schema, then split train/val/test.

    python -m stages.preprocess --raw data/raw/housing.csv --out data/processed --report reports/preprocess.json

Rows that break the schema are listed by row and field, then dropped or fatal (`preprocess.on_invalid`).
The split hashes each block's features with the seed: it is deterministic, and a row keeps its split
when new batches are appended, so the test set only ever grows. Every row of a block (`block_id`:
the upsampled copies of a source row) goes where the block's first row goes.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from housing.schema import LABELLED_COLUMNS, row_errors
from stages.atomic import atomic_path, write_json
from stages.errors import StageError, exits_cleanly
from stages.params import PreprocessParams, load_params
from stages.raw import block_hashes, read_ingested_csv
from stages.splits import SPLITS, split_path

SHOWN_PROBLEMS = 20


def split_labels(frame: pd.DataFrame, val_fraction: float, test_fraction: float, seed: int) -> np.ndarray:
    """Assign each block to train, val or test from a seeded hash of its original row's features, and
    each row to its block's split."""
    unit = block_hashes(frame, hash_key=f"{seed:016d}"[-16:]) / np.float64(2**64)
    return np.select([unit < test_fraction, unit < test_fraction + val_fraction], ["test", "val"], "train")


def report_problems(problems: list[tuple[int, str, str]]) -> None:
    for row, field, message in problems[:SHOWN_PROBLEMS]:
        print(f"row {row}: {field}: {message}", file=sys.stderr)
    if len(problems) > SHOWN_PROBLEMS:
        print(f"... and {len(problems) - SHOWN_PROBLEMS} more problems", file=sys.stderr)


@exits_cleanly
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--report", type=Path, required=True)
    args = parser.parse_args()
    params = load_params("preprocess", PreprocessParams)
    seed = load_params("seed", int)
    if params.val_fraction + params.test_fraction >= 1:
        raise StageError("preprocess: val_fraction + test_fraction must be < 1")

    raw = read_ingested_csv(args.raw)
    problems = row_errors(raw[LABELLED_COLUMNS])
    report_problems(problems)
    bad_rows = sorted({row for row, _, _ in problems})
    if bad_rows and params.on_invalid == "fail":
        raise StageError(f"{args.raw}: {len(bad_rows)} rows break the schema (preprocess.on_invalid is 'fail')")
    valid = raw.drop(index=bad_rows)

    labels = split_labels(valid, params.val_fraction, params.test_fraction, seed)
    with atomic_path(args.out) as staged:
        staged.mkdir()
        for split in SPLITS:
            valid[labels == split].reset_index(drop=True).to_parquet(split_path(staged, split), index=False)
    write_json(
        args.report,
        {
            "rows_in": len(raw),
            "rows_dropped": len(bad_rows),
            "problems_by_field": dict(Counter(field for _, field, _ in problems)),
            **{f"{split}_rows": int((labels == split).sum()) for split in SPLITS},
        },
    )
    print(f"preprocess: {len(valid)} valid rows of {len(raw)}; split {dict(Counter(labels))}")


if __name__ == "__main__":
    main()
