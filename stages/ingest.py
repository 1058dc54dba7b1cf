"""ingest: fetch the source CSV, verify its sha256, append the incoming batches, write the raw CSV.

    python -m stages.ingest --incoming data/incoming --out data/raw/housing.csv

The source is `ingest.source` (an http(s) URL or a local path). `INGEST_SOURCE` in the environment
names a mirror of it (a local copy, for machines without internet); a mirror is only accepted when
`ingest.sha256` pins the content, so the output is the same file whichever place it came from.

Every row gets a `block_id`, its position among the source and batch rows (appending a batch keeps
the old ids). `ingest.upsample` > 1 writes that many copies of every row for runs at scale: the rows
themselves first, then each further copy with jittered numeric features and the same block_id.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

from housing.schema import BLOCK_ID, NUMERIC_COLUMNS, bounds, row_errors
from stages.atomic import atomic_path
from stages.errors import StageError, exits_cleanly
from stages.params import IngestParams, load_params
from stages.raw import read_raw_csv


def fetch(source: str, into: Path, timeout_s: float) -> Path:
    """Return a local path holding the source: the path itself, or a download into `into`."""
    if not source.startswith(("http://", "https://")):
        path = Path(source).expanduser()
        if not path.is_file():
            raise StageError(f"{source}: source file not found")
        return path
    target = into / "source.csv"
    try:
        # Only http(s) gets here (the check above), so no file: or custom scheme is opened.
        with urllib.request.urlopen(source, timeout=timeout_s) as response, target.open("wb") as out:  # nosec B310
            shutil.copyfileobj(response, out)
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise StageError(
            f"{source}: download failed ({reason}); set INGEST_SOURCE to a local copy to work offline"
        ) from None
    return target


def verify_sha256(path: Path, expected: str | None, label: str) -> None:
    if expected is None:
        return
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected.lower():
        raise StageError(f"{label}: sha256 mismatch (expected {expected}, got {digest})")


def read_batch(path: Path) -> pd.DataFrame:
    """An incoming batch must have the schema's columns and every row valid: it is appended whole."""
    batch = read_raw_csv(path, str(path))
    problems = row_errors(batch)
    if problems:
        row, field, message = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise StageError(f"{path}: row {row}: {field}: {message}{more}")
    return batch


def with_block_ids(rows: pd.DataFrame) -> pd.DataFrame:
    """The source and batch rows, each with its position among them as its block id."""
    return rows.assign(**{BLOCK_ID: np.arange(len(rows))})


def upsample(rows: pd.DataFrame, copies: int, jitter: float, seed: int) -> pd.DataFrame:
    """`copies` copies of the rows, block ids and all: the rows as they are, then each further copy with
    every numeric feature moved by N(0, jitter x its std) and kept within the schema's bounds."""
    if copies == 1:
        return rows
    out = pd.concat([rows] * copies, ignore_index=True).astype(dict.fromkeys(NUMERIC_COLUMNS, float))
    moved = slice(len(rows), None)
    rng = np.random.default_rng(seed)
    for name in NUMERIC_COLUMNS:
        noise = rng.normal(0, jitter * rows[name].std(), len(out) - len(rows))
        out.loc[moved, name] = np.clip(out.loc[moved, name].to_numpy() + noise, *bounds(name))
    out.loc[moved, "total_bedrooms"] = out.loc[moved, "total_bedrooms"].clip(upper=out.loc[moved, "total_rooms"])
    return out


@exits_cleanly
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incoming", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    params = load_params("ingest", IngestParams)
    seed = load_params("seed", int)

    mirror = os.environ.get("INGEST_SOURCE")
    if mirror and params.sha256 is None:
        raise StageError("INGEST_SOURCE is set but ingest.sha256 is null: a mirror needs a pinned sha256")
    source = mirror or params.source
    with tempfile.TemporaryDirectory() as scratch:
        local = fetch(source, Path(scratch), params.timeout_s)
        verify_sha256(local, params.sha256, source)
        frames = [read_raw_csv(local, source)]
    frames += [read_batch(path) for path in sorted(args.incoming.glob("*.csv"))]

    rows = pd.concat(frames, ignore_index=True)
    ingested = upsample(with_block_ids(rows), params.upsample, params.jitter, seed)
    with atomic_path(args.out) as staged:
        ingested.to_csv(staged, index=False)
    copies = f", {params.upsample} copies of each" if params.upsample > 1 else ""
    print(f"ingest: {len(rows)} rows from {source} and {len(frames) - 1} incoming batches{copies}")


if __name__ == "__main__":
    main()
