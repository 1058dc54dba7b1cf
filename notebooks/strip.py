"""Committed notebooks carry code and prose only: no outputs, no execution counts, no editor metadata.

    python -m notebooks.strip --check [NOTEBOOK ...]   # exit 1, one line per problem, if any is not stripped
    python -m notebooks.strip [NOTEBOOK ...]           # strip them in place (what `make eda-strip` runs)

With no paths it takes every notebooks/*.ipynb. Outputs belong in the HTML `make eda` renders (ignored by
git): a committed output would put the data, and every re-run's noise, into the history.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parent
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
"""The kernel every notebook runs on: ipykernel's python3, which resolves to the interpreter running it."""
METADATA = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
"""A stripped notebook's whole metadata (no widget state, no interpreter version, no editor settings)."""
CELL_METADATA_KEYS = {"tags"}
"""The only cell metadata kept: tags mean something to tools; collapsed/scrolled/execution times do not."""


def problems(notebook: nbformat.NotebookNode) -> list[str]:
    """What makes a notebook not stripped, one line each ("cell 3: has outputs"); empty when it is."""
    found = [] if notebook.metadata == METADATA else [f"notebook metadata is not {METADATA}"]
    for number, cell in enumerate(notebook.cells, start=1):
        extra = sorted(set(cell.get("metadata", {})) - CELL_METADATA_KEYS)
        if extra:
            found.append(f"cell {number}: metadata {extra}")
        if cell.cell_type == "code":
            if cell.get("outputs"):
                found.append(f"cell {number}: has outputs")
            if cell.get("execution_count") is not None:
                found.append(f"cell {number}: execution_count {cell.execution_count}")
        if cell.get("attachments"):
            found.append(f"cell {number}: has attachments")
    return found


def strip(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook without outputs, execution counts, attachments or metadata beyond METADATA (in place)."""
    notebook.metadata = nbformat.from_dict(METADATA)
    for cell in notebook.cells:
        kept = {key: value for key, value in cell.get("metadata", {}).items() if key in CELL_METADATA_KEYS}
        cell.metadata = nbformat.from_dict(kept)
        cell.pop("attachments", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return notebook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m notebooks.strip", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report unstripped notebooks, change nothing")
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks (default: notebooks/*.ipynb)")
    args = parser.parse_args(argv)
    failed = False
    for path in args.paths or sorted(NOTEBOOKS.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
        found = problems(notebook)
        if args.check:
            for problem in found:
                print(f"{path}: {problem}", file=sys.stderr)
            failed |= bool(found)
        elif found:
            nbformat.write(strip(notebook), path)
            print(f"{path}: stripped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
