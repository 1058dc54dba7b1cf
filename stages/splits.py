"""The train/val/test splits preprocess writes, read back as raw rows and a target in $100,000, and the
training data a fit takes (TrainingData): the train split with its blocks and the val split."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np
import pandas as pd

from housing.schema import BLOCK_ID, RAW_COLUMNS, TARGET, TARGET_SCALE
from stages.errors import StageError

SPLITS = ("train", "val", "test")
Rows = TypeVar("Rows", pd.DataFrame, np.ndarray)


@dataclass(frozen=True)
class TrainingData(Generic[Rows]):
    """What one fit learns from: the training rows and target, the validation rows and target it stops
    early on, and each training row's block (the out-of-fold steps hold a block's rows out together;
    None: every row is a block of its own). The rows are raw (a DataFrame) before the feature step and
    its matrix after it, the target then transformed as the family is fitted on it."""

    X: Rows
    y: np.ndarray
    X_val: Rows
    y_val: np.ndarray
    blocks: np.ndarray | None = None


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


def load_training_data(folder: Path) -> TrainingData[pd.DataFrame]:
    """The train split and its blocks, and the val split: what the train and blend stages fit on."""
    X, y = load_split(folder, "train")
    blocks = load_blocks(folder, "train")
    X_val, y_val = load_split(folder, "val")
    return TrainingData(X, y, X_val, y_val, blocks)
