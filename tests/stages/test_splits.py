"""The splits read back: the training data a fit takes is the train split with its blocks, and the val split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from housing.schema import BLOCK_ID, RAW_COLUMNS, TARGET, TARGET_SCALE
from stages.errors import StageError
from stages.ingest import with_block_ids
from stages.splits import load_training_data, split_path
from tests.support.synthetic import housing_frame

ROWS = with_block_ids(housing_frame(30, seed=8))
"""Rows as ingest writes them; the first 20 are the train split, the rest the val split."""


@pytest.fixture
def splits(tmp_path: Path) -> Path:
    """Train and val splits as preprocess writes them: the raw columns, the price and each row's block."""
    ROWS[:20].to_parquet(split_path(tmp_path, "train"), index=False)
    ROWS[20:].reset_index(drop=True).to_parquet(split_path(tmp_path, "val"), index=False)
    return tmp_path


def test_the_training_data_is_the_train_split_with_its_blocks_and_the_val_split(splits: Path) -> None:
    data = load_training_data(splits)

    assert list(data.X.columns) == RAW_COLUMNS and list(data.X_val.columns) == RAW_COLUMNS
    np.testing.assert_array_equal(data.y, ROWS[TARGET][:20] / TARGET_SCALE)
    np.testing.assert_array_equal(data.y_val, ROWS[TARGET][20:] / TARGET_SCALE)
    np.testing.assert_array_equal(data.blocks, ROWS[BLOCK_ID][:20])


def test_the_training_data_cannot_be_changed_once_read(splits: Path) -> None:
    data = load_training_data(splits)

    with pytest.raises(AttributeError):
        data.blocks = None


def test_an_empty_val_split_is_a_stage_error(splits: Path) -> None:
    ROWS.head(0).to_parquet(split_path(splits, "val"), index=False)

    with pytest.raises(StageError, match=r"val\.parquet: the split is empty"):
        load_training_data(splits)
