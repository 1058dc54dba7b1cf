"""The ingest stage CLI: fetch and verify the source, append incoming batches, write the raw CSV."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from housing.schema import BLOCK_ID, LABELLED_COLUMNS, row_errors
from stages.ingest import with_block_ids
from stages.raw import INGESTED_COLUMNS
from tests.support.params import write_params
from tests.support.project import call_stage
from tests.support.synthetic import housing_frame

OUT = Path("data/raw/housing.csv")
UNREACHABLE = "http://127.0.0.1:9/housing.csv"


@pytest.fixture(autouse=True)
def no_mirror(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests set INGEST_SOURCE themselves; one inherited from the shell would change what they test."""
    monkeypatch.delenv("INGEST_SOURCE", raising=False)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """An empty project folder with an empty incoming/ folder."""
    work = tmp_path / "work"
    (work / "incoming").mkdir(parents=True)
    return work


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def use_source(work: Path, source: str | Path, sha256: str | None, timeout_s: float = 10) -> None:
    write_params(work, {"ingest": {"source": str(source), "sha256": sha256, "timeout_s": timeout_s}})


def pinned_source(work: Path, rows: int = 30) -> Path:
    """A local source CSV, with params pinning its sha256."""
    source = write_csv(work / "source" / "housing.csv", housing_frame(rows))
    use_source(work, source, sha256_of(source))
    return source


def ingest(work: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return call_stage(work, "ingest", "--incoming", "incoming", "--out", str(OUT), env=env)


def read_output(work: Path) -> pd.DataFrame:
    return pd.read_csv(work / OUT)


def expected_rows(*csv_files: Path) -> pd.DataFrame:
    return with_block_ids(pd.concat([pd.read_csv(path)[LABELLED_COLUMNS] for path in csv_files], ignore_index=True))


def stray_files(work: Path, keep: tuple[str, ...] = ()) -> list[str]:
    """Whatever lies in the output's folder besides `keep` (temporary files, partial outputs)."""
    folder = work / OUT.parent
    return sorted(path.name for path in folder.iterdir() if path.name not in keep) if folder.exists() else []


def assert_failed(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit status 1 and one `error: ...` line on stderr holding every fragment."""
    assert result.returncode == 1, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ")
    for fragment in fragments:
        assert fragment in line


def assert_no_output(work: Path) -> None:
    assert not (work / OUT).exists()
    assert stray_files(work) == []


def test_local_source_with_matching_sha256_is_written_whole(work):
    source = pinned_source(work, rows=30)

    result = ingest(work)

    assert result.returncode == 0, result.stderr
    pd.testing.assert_frame_equal(read_output(work), expected_rows(source))
    assert list(read_output(work).columns) == INGESTED_COLUMNS
    assert stray_files(work, keep=(OUT.name,)) == []


def test_local_source_without_sha256_is_written(work):
    source = write_csv(work / "source.csv", housing_frame(12))
    use_source(work, source, None)

    result = ingest(work)

    assert result.returncode == 0, result.stderr
    pd.testing.assert_frame_equal(read_output(work), expected_rows(source))


def test_sha256_mismatch_fails_naming_the_source(work):
    source = write_csv(work / "source.csv", housing_frame(12))
    use_source(work, source, "0" * 64)

    result = ingest(work)

    assert_failed(result, str(source), "sha256 mismatch", "0" * 64, sha256_of(source))
    assert_no_output(work)


def test_unreachable_url_fails_as_download_failed(work):
    use_source(work, UNREACHABLE, None, timeout_s=2)

    result = ingest(work)

    assert_failed(result, UNREACHABLE, "download failed", "INGEST_SOURCE")
    assert_no_output(work)


def test_missing_local_source_fails(work):
    missing = work / "nowhere" / "housing.csv"
    use_source(work, missing, None)

    result = ingest(work)

    assert_failed(result, str(missing), "source file not found")
    assert_no_output(work)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda frame: frame.drop(columns=["population"]), "'population'"),
        (lambda frame: frame.assign(garage_spaces=1), "'garage_spaces'"),
    ],
    ids=["missing-column", "unexpected-column"],
)
def test_source_with_wrong_columns_fails(work, change, named):
    source = write_csv(work / "source.csv", change(housing_frame(12)))
    use_source(work, source, None)

    result = ingest(work)

    assert_failed(result, str(source), "wrong columns", named)
    assert_no_output(work)


def test_source_that_is_not_a_csv_fails(work):
    source = work / "source.csv"
    source.write_text("")
    use_source(work, source, None)

    assert_failed(ingest(work), str(source), "not a readable CSV")
    assert_no_output(work)


def test_incoming_batches_are_appended_in_name_order(work):
    source = pinned_source(work, rows=20)
    batches = {name: housing_frame(5, seed=seed) for seed, name in enumerate(["2024-02", "2024-10", "2024-01"], 1)}
    for name, frame in batches.items():
        write_csv(work / "incoming" / f"{name}.csv", frame)
    (work / "incoming" / "notes.txt").write_text("not a batch")

    result = ingest(work)

    assert result.returncode == 0, result.stderr
    in_name_order = [work / "incoming" / f"{name}.csv" for name in ("2024-01", "2024-02", "2024-10")]
    pd.testing.assert_frame_equal(read_output(work), expected_rows(source, *in_name_order))
    assert "35 rows" in result.stdout
    assert "3 incoming batches" in result.stdout


def test_batch_columns_may_come_in_any_order(work):
    source = pinned_source(work, rows=10)
    batch = write_csv(work / "incoming" / "b.csv", housing_frame(4, seed=1)[LABELLED_COLUMNS[::-1]])

    assert ingest(work).returncode == 0
    pd.testing.assert_frame_equal(read_output(work), expected_rows(source, batch))


def test_missing_incoming_folder_means_no_batches(work):
    source = pinned_source(work, rows=10)
    (work / "incoming").rmdir()

    assert ingest(work).returncode == 0
    pd.testing.assert_frame_equal(read_output(work), expected_rows(source))


def test_batch_missing_a_column_fails_and_keeps_previous_output(work):
    pinned_source(work)
    previous = write_csv(work / OUT, housing_frame(7, seed=9)).read_bytes()
    write_csv(work / "incoming" / "a.csv", housing_frame(4, seed=1))
    write_csv(work / "incoming" / "b.csv", housing_frame(4, seed=2).drop(columns=["median_income"]))

    result = ingest(work)

    assert_failed(result, "incoming/b.csv", "missing ['median_income']")
    assert (work / OUT).read_bytes() == previous
    assert stray_files(work, keep=(OUT.name,)) == []


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("total_rooms", -3.0, "total_rooms: Input should be greater than or equal to 1"),
        ("ocean_proximity", "MARS", "ocean_proximity: Input should be"),
    ],
)
def test_batch_with_an_invalid_row_fails_naming_file_row_and_field(work, field, value, named):
    pinned_source(work)
    batch = housing_frame(6, seed=1)
    batch.loc[4, field] = value
    write_csv(work / "incoming" / "bad.csv", batch)

    result = ingest(work)

    assert_failed(result, "incoming/bad.csv: row 4: ", named)
    assert_no_output(work)


def test_batch_problem_count_is_reported(work):
    pinned_source(work)
    batch = housing_frame(6, seed=1)
    batch.loc[[1, 3, 5], "households"] = 0.0
    write_csv(work / "incoming" / "bad.csv", batch)

    assert_failed(ingest(work), "row 1: households", "and 2 more problems")


def test_mirror_without_pinned_sha256_is_refused(work):
    source = write_csv(work / "source.csv", housing_frame(10))
    use_source(work, source, None)

    result = ingest(work, env={"INGEST_SOURCE": str(source)})

    assert_failed(result, "INGEST_SOURCE", "ingest.sha256 is null")
    assert_no_output(work)


def test_mirror_with_pinned_sha256_replaces_unreachable_source(work):
    mirror = write_csv(work / "mirror" / "housing.csv", housing_frame(25))
    use_source(work, UNREACHABLE, sha256_of(mirror), timeout_s=2)

    result = ingest(work, env={"INGEST_SOURCE": str(mirror)})

    assert result.returncode == 0, result.stderr
    pd.testing.assert_frame_equal(read_output(work), expected_rows(mirror))
    assert str(mirror) in result.stdout


def test_mirror_with_other_content_fails_the_sha256_check(work):
    pinned = pinned_source(work)
    mirror = write_csv(work / "mirror.csv", housing_frame(25, seed=5))

    result = ingest(work, env={"INGEST_SOURCE": str(mirror)})

    assert_failed(result, str(mirror), "sha256 mismatch", sha256_of(pinned))
    assert_no_output(work)


def upsampled(work: Path, copies: int, jitter: float = 0.05) -> pd.DataFrame:
    """Ingest the pinned source and one batch with `ingest.upsample: copies`; the output it wrote."""
    source = write_csv(work / "source" / "housing.csv", housing_frame(40))
    write_csv(work / "incoming" / "a.csv", housing_frame(10, seed=3))
    write_params(work, {"ingest": {"source": str(source), "sha256": None, "upsample": copies, "jitter": jitter}})
    result = ingest(work)
    assert result.returncode == 0, result.stderr
    assert f"{copies} copies of each" in result.stdout
    return read_output(work)


def test_upsampling_writes_the_rows_then_jittered_valid_copies_that_keep_their_block_id(work):
    out = upsampled(work, copies=4)

    rows = expected_rows(work / "source" / "housing.csv", work / "incoming" / "a.csv")
    assert len(out) == 4 * len(rows)
    pd.testing.assert_frame_equal(out.head(len(rows)), rows, check_dtype=False)
    copies = out.iloc[len(rows) :].reset_index(drop=True)
    assert (copies[BLOCK_ID].to_numpy() == np.tile(rows[BLOCK_ID], 3)).all()
    assert row_errors(out[LABELLED_COLUMNS]) == []
    like_their_block = copies.merge(rows, on=BLOCK_ID, suffixes=("", "_block"))
    for name in ("longitude", "median_income", "total_rooms"):
        assert (like_their_block[name] != like_their_block[f"{name}_block"]).mean() > 0.9
        moved = (like_their_block[name] - like_their_block[f"{name}_block"]).abs()
        assert (moved <= 5 * 0.05 * rows[name].std()).all()
    for name in ("median_house_value", "ocean_proximity"):
        assert (like_their_block[name] == like_their_block[f"{name}_block"]).all()
    assert (copies["total_bedrooms"].isna() == np.tile(rows["total_bedrooms"].isna(), 3)).all()


def test_upsampling_is_repeatable(work):
    first = upsampled(work, copies=3)

    assert upsampled(work, copies=3).equals(first)
