"""Reading raw CSVs (the source, incoming batches, data/raw) with their columns checked."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from housing.schema import BLOCK_ID, LABELLED_COLUMNS
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
