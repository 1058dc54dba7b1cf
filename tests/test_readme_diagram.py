"""The README's Mermaid diagrams render: each is drawn by the lock's Mermaid in headless Chromium, as
GitHub draws it, so a syntax slip shows here instead of as an error box on the project's page."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PROJECT, needs_chromium

MERMAID = PROJECT / "docs" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
DIAGRAMS = re.findall(r"^```mermaid\n(.*?)^```", (PROJECT / "README.md").read_text(), re.M | re.S)

RENDER = """async (source) => {
  mermaid.initialize({startOnLoad: false});
  try { return (await mermaid.render("diagram", source)).svg; } catch (error) { return "error: " + error.message; }
}"""


def test_the_readme_has_its_architecture_diagram():
    assert any(diagram.startswith("flowchart") for diagram in DIAGRAMS)


@pytest.mark.slow
@needs_chromium
@pytest.mark.skipif(not MERMAID.exists(), reason="Mermaid is not installed: run `make docs-tools`")
@pytest.mark.parametrize("source", DIAGRAMS)
def test_each_diagram_renders(browser, source: str):
    page = browser.new_page()
    page.add_script_tag(path=str(MERMAID))
    drawn = page.evaluate(RENDER, source)
    assert drawn.startswith("<svg"), drawn
