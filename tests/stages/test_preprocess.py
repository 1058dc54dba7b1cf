"""The preprocess stage CLI: validate raw rows, then a stable, seeded train/val/test split."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from housing.schema import BLOCK_ID, LABELLED_COLUMNS, RAW_COLUMNS
from stages.ingest import upsample, with_block_ids
from stages.preprocess import SHOWN_PROBLEMS
from stages.raw import INGESTED_COLUMNS
from stages.splits import SPLITS
from tests.support.params import TINY_PARAMS, write_params
from tests.support.project import call_stage
from tests.support.synthetic import housing_frame

RAW = Path("data/raw/housing.csv")
OUT = Path("data/processed")
REPORT = Path("reports/preprocess.json")


def write_raw(work: Path, frame: pd.DataFrame) -> None:
    """The rows as ingest writes them: block ids by position."""
    with_block_ids(frame.drop(columns=BLOCK_ID, errors="ignore")).to_csv(work / RAW, index=False)


def set_preprocess(work: Path, **changes: object) -> None:
    write_params(work, {**TINY_PARAMS, "preprocess": {**TINY_PARAMS["preprocess"], **changes}})


def preprocess(work: Path) -> subprocess.CompletedProcess:
    return call_stage(work, "preprocess", "--raw", str(RAW), "--out", str(OUT), "--report", str(REPORT))


def read_splits(work: Path) -> dict[str, pd.DataFrame]:
    return {split: pd.read_parquet(work / OUT / f"{split}.parquet") for split in SPLITS}


def preprocessed(work: Path) -> dict[str, pd.DataFrame]:
    """Run preprocess, which must succeed, and read its three splits."""
    result = preprocess(work)
    assert result.returncode == 0, result.stderr
    return read_splits(work)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project folder made like conftest's `workdir`, preprocessed once; tests only read it."""
    work = tmp_path_factory.mktemp("baseline")
    (work / RAW.parent).mkdir(parents=True)
    write_params(work, TINY_PARAMS)
    write_raw(work, housing_frame(400))
    preprocessed(work)
    return work


def read_report(work: Path) -> dict:
    return json.loads((work / REPORT).read_text())


def split_of_each_row(splits: dict[str, pd.DataFrame]) -> dict[tuple, str]:
    """Each row's feature values (missing bedrooms as -1, since NaN != NaN) -> the split holding it."""
    return {
        tuple(row): split
        for split, frame in splits.items()
        for row in frame[RAW_COLUMNS].fillna({"total_bedrooms": -1.0}).itertuples(index=False)
    }


def sorted_rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(LABELLED_COLUMNS).reset_index(drop=True)


def with_bad_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows 3, 10 and 11 break the schema: four problems in all."""
    frame = frame.copy()
    frame.loc[3, "total_rooms"] = -5.0
    frame.loc[10, "ocean_proximity"] = "MARS"
    frame.loc[11, ["households", "ocean_proximity"]] = [-1.0, "ATLANTIS"]
    return frame


def assert_nothing_written(work: Path) -> None:
    assert sorted(path.name for path in (work / "data").iterdir()) == ["raw"]
    assert sorted(path.name for path in (work / "data" / "raw").iterdir()) == [RAW.name]
    assert not (work / REPORT.parent).exists() or list((work / REPORT.parent).iterdir()) == []


def test_writes_three_splits_with_the_schema_columns(baseline):
    splits = read_splits(baseline)

    assert sorted(path.name for path in (baseline / OUT).iterdir()) == sorted(f"{split}.parquet" for split in SPLITS)
    for frame in splits.values():
        assert list(frame.columns) == INGESTED_COLUMNS
        assert len(frame) > 0


def test_split_sizes_follow_the_configured_fractions(workdir):
    write_raw(workdir, housing_frame(2000))
    set_preprocess(workdir, val_fraction=0.1, test_fraction=0.3)

    splits = preprocessed(workdir)

    fractions = {split: len(frame) / 2000 for split, frame in splits.items()}
    assert fractions == pytest.approx({"train": 0.6, "val": 0.1, "test": 0.3}, abs=0.04)


def test_splits_are_disjoint_and_cover_every_row(baseline):
    raw = pd.read_csv(baseline / RAW)

    splits = read_splits(baseline)

    together = pd.concat(splits.values(), ignore_index=True)
    pd.testing.assert_frame_equal(sorted_rows(together), sorted_rows(raw))


def test_report_counts_rows_per_split(baseline):
    splits = read_splits(baseline)

    assert read_report(baseline) == {
        "rows_in": 400,
        "rows_dropped": 0,
        "problems_by_field": {},
        **{f"{split}_rows": len(frame) for split, frame in splits.items()},
    }


def test_same_input_gives_identical_splits(baseline, workdir):
    assert (workdir / RAW).read_bytes() == (baseline / RAW).read_bytes()
    first = read_splits(baseline)

    second = preprocessed(workdir)

    for split in SPLITS:
        pd.testing.assert_frame_equal(first[split], second[split])


def test_seed_changes_the_split(baseline, workdir):
    first = split_of_each_row(read_splits(baseline))
    write_params(workdir, {**TINY_PARAMS, "seed": 7})

    second = split_of_each_row(preprocessed(workdir))

    assert first.keys() == second.keys()
    assert first != second


def test_appended_rows_leave_old_rows_in_their_split(baseline, workdir):
    old = pd.read_csv(baseline / RAW)
    before = split_of_each_row(read_splits(baseline))
    write_raw(workdir, pd.concat([old, housing_frame(300, seed=1)], ignore_index=True))

    after = split_of_each_row(preprocessed(workdir))

    assert len(after) == 700
    assert {row: after[row] for row in before} == before


def test_existing_output_folder_is_replaced(workdir):
    (workdir / OUT).mkdir(parents=True)
    (workdir / OUT / "stale.parquet").write_text("from an older run")

    preprocessed(workdir)

    assert sorted(path.name for path in (workdir / OUT).iterdir()) == sorted(f"{split}.parquet" for split in SPLITS)
    assert [path.name for path in (workdir / "data").iterdir() if path.name.startswith(".")] == []


def test_invalid_rows_are_dropped_and_listed(workdir):
    raw = pd.read_csv(workdir / RAW)
    write_raw(workdir, with_bad_rows(raw))
    set_preprocess(workdir, on_invalid="drop")

    result = preprocess(workdir)

    assert result.returncode == 0, result.stderr
    assert [line.split(": ")[:2] for line in result.stderr.splitlines()] == [
        ["row 3", "total_rooms"],
        ["row 10", "ocean_proximity"],
        ["row 11", "households"],
        ["row 11", "ocean_proximity"],
    ]
    assert "'ATLANTIS'" in result.stderr


def test_dropped_rows_are_left_out_of_every_split_and_counted(workdir):
    raw = pd.read_csv(workdir / RAW)
    write_raw(workdir, with_bad_rows(raw))

    splits = preprocessed(workdir)

    together = pd.concat(splits.values(), ignore_index=True)
    pd.testing.assert_frame_equal(sorted_rows(together), sorted_rows(raw.drop(index=[3, 10, 11])))
    report = read_report(workdir)
    assert report["rows_in"] == 400
    assert report["rows_dropped"] == 3
    assert report["problems_by_field"] == {"total_rooms": 1, "ocean_proximity": 2, "households": 1}
    assert sum(report[f"{split}_rows"] for split in SPLITS) == 397


def test_long_problem_list_is_cut_short(workdir):
    raw = pd.read_csv(workdir / RAW)
    raw.loc[: SHOWN_PROBLEMS + 4, "population"] = 0.0
    write_raw(workdir, raw)

    result = preprocess(workdir)

    lines = result.stderr.splitlines()
    assert len(lines) == SHOWN_PROBLEMS + 1
    assert lines[-1] == "... and 5 more problems"
    assert read_report(workdir)["rows_dropped"] == SHOWN_PROBLEMS + 5


def test_invalid_rows_are_fatal_with_on_invalid_fail(workdir):
    write_raw(workdir, with_bad_rows(pd.read_csv(workdir / RAW)))
    set_preprocess(workdir, on_invalid="fail")

    result = preprocess(workdir)

    assert result.returncode == 1
    *problems, error = result.stderr.splitlines()
    assert [line.split(": ")[0] for line in problems] == ["row 3", "row 10", "row 11", "row 11"]
    assert error.startswith(f"error: {RAW}: 3 rows break the schema")
    assert "on_invalid" in error
    assert_nothing_written(workdir)


def test_valid_rows_pass_with_on_invalid_fail(workdir):
    set_preprocess(workdir, on_invalid="fail")

    assert sum(map(len, preprocessed(workdir).values())) == 400


@pytest.mark.parametrize(("val_fraction", "test_fraction"), [(0.5, 0.5), (0.9, 0.3)])
def test_fractions_leaving_no_training_rows_are_rejected(workdir, val_fraction, test_fraction):
    set_preprocess(workdir, val_fraction=val_fraction, test_fraction=test_fraction)

    result = preprocess(workdir)

    assert result.returncode == 1
    assert result.stderr.splitlines() == ["error: preprocess: val_fraction + test_fraction must be < 1"]
    assert_nothing_written(workdir)


@pytest.mark.parametrize(("param", "value"), [("val_fraction", 0), ("on_invalid", "ignore")])
def test_bad_preprocess_param_is_named(workdir, param, value):
    set_preprocess(workdir, **{param: value})

    result = preprocess(workdir)

    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("error: params.yaml: ")
    assert f"preprocess.{param}: " in line
    assert_nothing_written(workdir)


def test_every_copy_of_a_block_goes_where_the_block_goes_and_the_blocks_split_as_without_copies(baseline, workdir):
    rows = with_block_ids(housing_frame(400))
    upsample(rows, copies=5, jitter=0.05, seed=0).to_csv(workdir / RAW, index=False)

    splits = preprocessed(workdir)

    blocks = {split: set(frame[BLOCK_ID]) for split, frame in splits.items()}
    assert blocks["train"].isdisjoint(blocks["val"] | blocks["test"]) and blocks["val"].isdisjoint(blocks["test"])
    assert sum(len(frame) for frame in splits.values()) == 2000
    assert all(frame[BLOCK_ID].value_counts().eq(5).all() for frame in splits.values())
    assert blocks == {split: set(frame[BLOCK_ID]) for split, frame in read_splits(baseline).items()}
