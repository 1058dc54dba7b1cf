"""MkDocs hooks (mkdocs.yml `hooks:`): the parts of the manual that the code and the result files make,
generated while the site builds, and Mermaid served by the site itself.

A page asks for a generated part with a line of its own, `<!-- generate: NAME -->` or
`<!-- generate: NAME ARGUMENT -->`; an unknown name fails the build. Nothing generated is kept in git,
so nothing generated can fall behind the code.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from ops.api_reference import api_page, openapi_document
from ops.bench_tables import all_results, result_names, result_section
from ops.code_map import code_map
from ops.config_reference import gunicorn_table, params_tables, settings_table
from ops.results import table as results_table

PROJECT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"^<!-- generate: (?P<name>[a-z-]+)(?: (?P<argument>\S+))? -->$", re.MULTILINE)
MERMAID = PROJECT / "docs" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
MERMAID_URI = "assets/mermaid.min.js"
"""Where the site serves it; mkdocs.yml's extra_javascript names the same path."""


def _results() -> str:
    """The table `make results` prints, from the committed metrics/ and reports/."""
    return "```\n" + results_table(PROJECT / "metrics", PROJECT / "reports") + "\n```"


def _bench(name: str) -> str:
    if name not in result_names():
        raise PluginError(f"bench/results/{name}.json does not exist (there are: {', '.join(result_names())})")
    return result_section(name)


GENERATORS: dict[str, Callable[..., str]] = {
    "serve-settings": settings_table,
    "gunicorn-settings": gunicorn_table,
    "params": params_tables,
    "http-api": lambda: api_page(openapi_document()),
    "bench": _bench,
    "bench-results": all_results,
    "code-map": code_map,
    "results": _results,
}


@functools.cache
def generated(name: str, argument: str | None) -> str:
    """One generated part, made once per build (the HTTP API builds the app)."""
    if name not in GENERATORS:
        raise PluginError(f"unknown generated part '{name}': the parts are {', '.join(GENERATORS)}")
    return GENERATORS[name](*([argument] if argument else []))


def on_pre_build(config: MkDocsConfig) -> None:
    generated.cache_clear()  # `make docs-serve` rebuilds in the same process


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    return MARKER.sub(lambda match: generated(match["name"], match["argument"]), markdown)


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Mermaid from docs/node_modules (the lock's version, `make docs-tools`), so no page fetches it."""
    if not MERMAID.exists():
        raise PluginError(f"{MERMAID.relative_to(PROJECT)} is missing: run `make docs-tools`")
    files.append(File.generated(config, MERMAID_URI, abs_src_path=str(MERMAID)))
    return files
