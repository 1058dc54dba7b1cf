"""Reading raw CSVs (the source, incoming batches, data/raw) with the schema's columns checked."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from housing.schema import LABELLED_COLUMNS
from stages.errors import StageError


def read_raw_csv(path: Path, label: str) -> pd.DataFrame:
    """Read a raw CSV and check it has exactly the schema's columns (in any order)."""
    try:
        frame = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise StageError(f"{label}: not a readable CSV ({error})") from None
    missing = [column for column in LABELLED_COLUMNS if column not in frame.columns]
    unexpected = [column for column in frame.columns if column not in LABELLED_COLUMNS]
    if missing or unexpected:
        raise StageError(f"{label}: wrong columns (missing {missing}, unexpected {unexpected})")
    return frame[LABELLED_COLUMNS]
