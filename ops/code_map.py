"""The code map: every module of each floor, its subpackages' included, with the first paragraph of its own
docstring, read when the manual is built, so a new module appears there and a moved one leaves it."""

from __future__ import annotations

import ast
from pathlib import Path

from ops.markdown_text import table

PROJECT = Path(__file__).resolve().parents[1]
FLOORS = {
    "ops": "operations: imports anything; nothing imports it",
    "serve": "the Flask app under gunicorn: imports the model package only",
    "stages": "DVC entry points and the pipeline's plumbing: imports the model package",
    "housing": "the model package, which logged models carry: imports nothing else of ours, nor MLflow or DVC",
    "bench": "benchmarks, run by hand: each writes `bench/results/<name>.json`",
    "demo": "the guided tours on the real data: `make demo`, `make demo-retrain`",
    "tools": "tooling for the manual: the dashboard's screenshots",
}


def summary(module: Path) -> str:
    """The first paragraph of a module's docstring, on one line."""
    docstring = ast.get_docstring(ast.parse(module.read_text())) or ""
    return " ".join(docstring.strip().split("\n\n")[0].split())


def code_map(project: Path = PROJECT) -> str:
    sections = []
    for floor, role in FLOORS.items():
        modules = sorted((project / floor).rglob("*.py"))
        rows = [(f"`{path.relative_to(project)}`", summary(path)) for path in modules]
        sections.append(f"### `{floor}/`: {role}\n\n" + table(["module", "what it holds"], rows))
    return "\n\n".join(sections)
