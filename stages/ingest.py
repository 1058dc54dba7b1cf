"""ingest: fetch the source CSV, verify its sha256, append the incoming batches, write the raw CSV.

    python -m stages.ingest --incoming data/incoming --out data/raw/housing.csv

The source is `ingest.source` (an http(s) URL or a local path). `INGEST_SOURCE` in the environment
names a mirror of it (a local copy, for machines without internet); a mirror is only accepted when
`ingest.sha256` pins the content, so the output is the same file whichever place it came from.
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

import pandas as pd

from housing.schema import row_errors
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
        with urllib.request.urlopen(source, timeout=timeout_s) as response, target.open("wb") as out:
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


@exits_cleanly
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incoming", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    params: IngestParams = load_params("ingest")

    mirror = os.environ.get("INGEST_SOURCE")
    if mirror and params.sha256 is None:
        raise StageError("INGEST_SOURCE is set but ingest.sha256 is null: a mirror needs a pinned sha256")
    source = mirror or params.source
    with tempfile.TemporaryDirectory() as scratch:
        local = fetch(source, Path(scratch), params.timeout_s)
        verify_sha256(local, params.sha256, source)
        frames = [read_raw_csv(local, source)]
    frames += [read_batch(path) for path in sorted(args.incoming.glob("*.csv"))]

    with atomic_path(args.out) as staged:
        pd.concat(frames, ignore_index=True).to_csv(staged, index=False)
    print(f"ingest: {sum(map(len, frames))} rows from {source} and {len(frames) - 1} incoming batches")


if __name__ == "__main__":
    main()
