"""A registered version's lineage: the data and split it came from, and the blocks it trained and was
selected on, so that a later register compares it only on rows it has never seen.

Blocks are named by what they are (`BLOCK_KEY`: a hash of their original row's features), not by
their block_id, which ingest numbers afresh on every run: the same block keeps its name under any
seed, split fractions or re-ingested file. The names of the train and val blocks go to the version's
run as an artifact (`ARTIFACT`); the version's tags say where (`BLOCKS_TAG`), and record the seed,
the split fractions and a hash of the splits.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from mlflow.tracking import MlflowClient

from housing.schema import BLOCK_ID, RAW_COLUMNS
from stages.params import PreprocessParams
from stages.raw import block_hashes
from stages.splits import SPLITS, split_path

BLOCK_KEY = "housing.blocks.1"
"""The hash key of a block's name: fixed, so names agree across runs (the split's key is the seed)."""
SEEN = ("train", "val")
"""The splits a version has seen: it trained on one and was selected on the other."""
ARTIFACT = "lineage/blocks.parquet"
BLOCKS_TAG = "lineage.blocks"


def block_keys(splits: Path, split: str) -> np.ndarray:
    """The name of each row's block in one split."""
    return block_hashes(pd.read_parquet(split_path(splits, split), columns=[*RAW_COLUMNS, BLOCK_ID]), BLOCK_KEY)


def seen_blocks(splits: Path) -> pd.DataFrame:
    """The blocks of the train and val splits, one row each: `key` (its name) and `split`."""
    return pd.concat(
        [pd.DataFrame({"key": np.unique(block_keys(splits, split)), "split": split}) for split in SEEN],
        ignore_index=True,
    )


def splits_sha256(splits: Path) -> str:
    """One hash of the split files' contents, in split order."""
    digest = hashlib.sha256()
    for split in SPLITS:
        digest.update(split_path(splits, split).read_bytes())
    return digest.hexdigest()


def record_lineage(
    client: MlflowClient, run_id: str, splits: Path, seed: int, split: PreprocessParams
) -> dict[str, str]:
    """Log the seen blocks to the run; the version tags that describe the lineage and point at them."""
    blocks = seen_blocks(splits)
    with tempfile.TemporaryDirectory(prefix="lineage-") as scratch:
        local = Path(scratch) / Path(ARTIFACT).name
        blocks.to_parquet(local, index=False)
        client.log_artifact(run_id, str(local), artifact_path=str(Path(ARTIFACT).parent))
    counts = blocks["split"].value_counts()
    return {
        BLOCKS_TAG: f"runs:/{run_id}/{ARTIFACT}",
        "lineage.seed": str(seed),
        "lineage.val_fraction": str(split.val_fraction),
        "lineage.test_fraction": str(split.test_fraction),
        "lineage.splits_sha256": splits_sha256(splits),
        **{f"lineage.{name}_blocks": str(counts.get(name, 0)) for name in SEEN},
    }


def blocks_seen_by(version: ModelVersion) -> np.ndarray | None:
    """The names of the blocks a registered version trained or was selected on; None when it records none."""
    uri = version.tags.get(BLOCKS_TAG)
    if uri is None:
        return None
    local = mlflow.artifacts.download_artifacts(artifact_uri=uri)
    return pd.read_parquet(local, columns=["key"])["key"].to_numpy(dtype=np.uint64)
