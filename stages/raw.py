"""Reading raw CSVs (the source, incoming batches, data/raw) with their columns checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from housing.schema import BLOCK_ID, LABELLED_COLUMNS, NUMERIC_COLUMNS, RAW_COLUMNS
from stages.errors import StageError

INGESTED_COLUMNS: list[str] = [*LABELLED_COLUMNS, BLOCK_ID]
"""The columns of data/raw/housing.csv: the schema's, and the block each row is or was copied from."""


def read_raw_csv(path: Path, label: str, columns: list[str] = LABELLED_COLUMNS) -> pd.DataFrame:
    """Read a raw CSV and check it has exactly `columns` (in any order): a source or batch by default."""
    try:
        frame = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise StageError(f"{label}: not a readable CSV ({error})") from None
    missing = [column for column in columns if column not in frame.columns]
    unexpected = [column for column in frame.columns if column not in columns]
    if missing or unexpected:
        raise StageError(f"{label}: wrong columns (missing {missing}, unexpected {unexpected})")
    return frame[columns]


def read_ingested_csv(path: Path) -> pd.DataFrame:
    return read_raw_csv(path, str(path), INGESTED_COLUMNS)


def originals(ingested: pd.DataFrame) -> pd.DataFrame:
    """The ingested rows that are source or batch rows themselves, in their order, not upsampled copies
    (ingest writes every block's first row, the original, before any copy)."""
    return ingested.drop_duplicates(BLOCK_ID)


def block_hashes(ingested: pd.DataFrame, hash_key: str) -> np.ndarray:
    """Each row's block as a 64-bit hash (keyed by `hash_key`, 16 characters) of the features of the
    block's original row: a name that depends on what the block is, not on where ingest put it.

    Numbers are hashed as floats, so `41` and `41.0` in different batches hash alike.
    """
    first = originals(ingested)
    values = first[RAW_COLUMNS].astype(dict.fromkeys(NUMERIC_COLUMNS, float))
    hashes = pd.util.hash_pandas_object(values, index=False, hash_key=hash_key).to_numpy(dtype=np.uint64)
    return ingested[BLOCK_ID].map(pd.Series(hashes, index=first[BLOCK_ID])).to_numpy(dtype=np.uint64)
