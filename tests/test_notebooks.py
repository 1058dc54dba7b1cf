"""notebooks/: committed with no outputs (`python -m notebooks.strip --check`), and eda.ipynb runs on generated data.

The execution test runs the notebook in a kernel on a few hundred generated rows (the real data is
`make eda`'s business) and checks that every section drew its charts and that the figures it prints
agree with the data it was given."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from housing.schema import TARGET
from notebooks.strip import main, problems, strip
from stages.ingest import upsample, with_block_ids
from tests.support.project import PROJECT
from tests.support.synthetic import housing_frame

NOTEBOOKS = PROJECT / "notebooks"
COMMITTED = sorted(NOTEBOOKS.glob("*.ipynb"))
PRICE_CAP = 500_001
FIGURES_PER_SECTION = {
    "1. Overview": 0,
    "2. Distributions": 2,
    "3. The $500,001 price cap": 1,
    "4. Geography": 1,
    "5. Correlations": 2,
    "6. The features the pipeline builds, and why": 2,
}


def test_the_eda_notebook_is_committed() -> None:
    assert NOTEBOOKS / "eda.ipynb" in COMMITTED


@pytest.mark.parametrize("path", COMMITTED, ids=lambda path: path.name)
def test_committed_notebooks_carry_no_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    nbformat.validate(notebook)
    assert problems(notebook) == []
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, "a notebook without code cells"
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)
    assert "widgets" not in notebook.metadata


def test_the_check_command_passes_on_the_checkout() -> None:
    """What pre-commit runs: `python -m notebooks.strip --check` over notebooks/*.ipynb."""
    checked = subprocess.run(
        [sys.executable, "-m", "notebooks.strip", "--check", *map(str, COMMITTED)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


def executed_like(source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook as an editor saves it after a run: outputs, counts, widget state, cell metadata."""
    notebook = nbformat.from_dict(source)
    notebook.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    notebook.metadata["language_info"]["version"] = "3.11.9"
    code = next(cell for cell in notebook.cells if cell.cell_type == "code")
    code.execution_count = 7
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="rows: 20640\n")]
    code.metadata["collapsed"] = False
    code.metadata["tags"] = ["keep-me"]
    return notebook


def test_the_check_flags_an_executed_notebook_and_strip_fixes_it(tmp_path: Path, capsys) -> None:
    source = nbformat.read(NOTEBOOKS / "eda.ipynb", as_version=nbformat.NO_CONVERT)
    path = tmp_path / "executed.ipynb"
    nbformat.write(executed_like(source), path)

    assert main(["--check", str(path)]) == 1
    reported = capsys.readouterr().err
    assert "has outputs" in reported and "execution_count 7" in reported and "['collapsed']" in reported
    assert "notebook metadata" in reported

    assert main([str(path)]) == 0
    stripped = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    assert problems(stripped) == []
    assert [cell.source for cell in stripped.cells] == [cell.source for cell in source.cells]
    assert next(cell for cell in stripped.cells if cell.cell_type == "code").metadata == {"tags": ["keep-me"]}
    assert main(["--check", str(path)]) == 0
    assert strip(nbformat.from_dict(stripped)) == stripped


def printed(notebook: nbformat.NotebookNode) -> str:
    return "".join(
        output.text
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream" and output.name == "stdout"
    )


def figures_per_section(notebook: nbformat.NotebookNode) -> dict[str, int]:
    counts: dict[str, int] = {}
    section = None
    for cell in notebook.cells:
        heading = re.match(r"## (.+)", cell.source) if cell.cell_type == "markdown" else None
        if heading:
            section = heading.group(1).strip()
            counts[section] = 0
        elif cell.cell_type == "code" and section is not None:
            counts[section] += sum("image/png" in output.get("data", {}) for output in cell.outputs)
    return counts


@pytest.mark.slow
def test_the_eda_notebook_runs_on_generated_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On data laid out as ingest writes it (block ids, and jittered copies after the originals), with a
    known number of blocks at the price cap."""
    frame = housing_frame(300, seed=3)
    capped = frame.sample(12, random_state=0).index
    frame.loc[capped, TARGET] = PRICE_CAP
    ingested = upsample(with_block_ids(frame), copies=2, jitter=0.02, seed=0)
    data = tmp_path / "housing.csv"
    ingested.to_csv(data, index=False)
    monkeypatch.setenv("EDA_DATA", str(data))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the inline backend, whose figures become outputs

    notebook = nbformat.read(NOTEBOOKS / "eda.ipynb", as_version=4)
    in_notebooks = {"metadata": {"path": str(NOTEBOOKS)}}  # the kernel's working directory, as `make eda` runs it
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources=in_notebooks)
    client.execute()  # raises CellExecutionError, naming the cell, if one fails

    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    assert not [output for output in outputs if output.output_type == "error"]
    text = printed(notebook)
    kernel = re.search(r"^kernel: (.+)$", text, re.M)
    assert kernel and Path(kernel.group(1)).parent == Path(sys.executable).parent, "the kernel is not this virtualenv"
    assert f"data: {data}\n" in text
    missing = int(frame["total_bedrooms"].isna().sum())
    assert f"rows: {len(frame)}\n" in text  # the originals, not the copies
    assert f"missing total_bedrooms: {missing} ({missing / len(frame):.1%})\n" in text
    assert "rows breaking the schema: 0\n" in text
    assert f"rows at the cap: {len(capped)} ({len(capped) / len(frame):.1%})\n" in text
    below = frame.loc[frame[TARGET] < PRICE_CAP, TARGET].max()
    assert f"highest price below the cap: {below:,.0f}\n" in text
    assert re.search(rf"^capped rows predicted above the cap: \d+ of {len(capped)}$", text, re.M)
    pearson = np.corrcoef(frame["median_income"], frame[TARGET])[0, 1]
    assert f"median_income vs price: Pearson {pearson:.3f}," in text
    assert figures_per_section(notebook) == FIGURES_PER_SECTION
