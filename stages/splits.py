"""The train/val/test splits preprocess writes, read back as raw rows and a target in $100,000."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from housing.schema import BLOCK_ID, RAW_COLUMNS, TARGET, TARGET_SCALE
from stages.errors import StageError

SPLITS = ("train", "val", "test")


def split_path(folder: Path, name: str) -> Path:
    return folder / f"{name}.parquet"


def load_split(folder: Path, name: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The split's raw columns and its target in units of $100,000; an empty split is a StageError."""
    path = split_path(folder, name)
    frame = pd.read_parquet(path)
    if frame.empty:
        raise StageError(f"{path}: the split is empty; check preprocess fractions and the data size")
    return frame[RAW_COLUMNS], frame[TARGET].to_numpy(dtype=float) / TARGET_SCALE


def load_blocks(folder: Path, name: str) -> np.ndarray:
    """The block id of each row of the split: the groups of its out-of-fold steps."""
    return pd.read_parquet(split_path(folder, name), columns=[BLOCK_ID])[BLOCK_ID].to_numpy()
