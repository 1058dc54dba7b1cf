"""The manual (mkdocs.yml, docs/, ops/docs_hooks.py) and the README as its front page: the site builds
with --strict, its generated pages follow the code (a default changed in a scratch copy changes the
page), every `make` target the README and the docs name exists, the README's results are `make
results`', and the Mermaid diagrams render: the README's as GitHub draws them, the site's in headless
Chromium with every request outside the site refused."""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ops.bench_tables import result_names
from ops.results import table as results_table
from serve.settings import Settings
from stages.params import SECTIONS
from tests.support.browser import needs_chromium
from tests.support.project import PROJECT

README = PROJECT / "README.md"
PAGES = sorted((PROJECT / "docs").glob("*.md"))
MERMAID = PROJECT / "docs" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
needs_mermaid = pytest.mark.skipif(not MERMAID.exists(), reason="Mermaid is not installed: run `make docs-tools`")
DIAGRAMS = re.findall(r"^```mermaid\n(.*?)^```", README.read_text(), re.M | re.S)
RENDER = """async (source) => {
  mermaid.initialize({startOnLoad: false});
  try { return (await mermaid.render("diagram", source)).svg; } catch (error) { return "error: " + error.message; }
}"""
OPEN_SHADOWS = """const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) { return attach.call(this, {...init, mode: "open"}); };"""
"""Material draws each diagram into a closed shadow root: opened here so the test can read the SVG."""


def build(project: Path, site: Path) -> subprocess.CompletedProcess:
    """`mkdocs build --strict` of `project` into `site`, with `project`'s own code on the path."""
    environment = {**os.environ, "PYTHONPATH": str(project), "NO_MKDOCS_2_WARNING": "1"}
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)]
    return subprocess.run(command, cwd=project, env=environment, capture_output=True, text=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout's manual, built once for the module's tests."""
    folder = tmp_path_factory.mktemp("site")
    built = build(PROJECT, folder)
    assert built.returncode == 0, built.stderr[-4000:]
    return folder


def page_text(site: Path, name: str) -> str:
    return (site / name / "index.html").read_text()


def code(text: str) -> str:
    """The code in a Markdown text: fenced blocks and inline spans, where commands are written."""
    fences = re.findall(r"^```.*?\n(.*?)^```", text, re.M | re.S)
    spans = re.findall(r"`([^`\n]+)`", re.sub(r"^```.*?^```", "", text, flags=re.M | re.S))
    return "\n".join(fences + spans)


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (PROJECT / "Makefile").read_text(), re.M))


def test_every_make_target_the_readme_and_the_docs_name_exists():
    named = {
        (path.name, target)
        for path in [README, *PAGES]
        for target in re.findall(r"\bmake ([a-z][a-z-]*)", code(path.read_text()))
    }

    assert len(named) > 30
    assert not {(page, target) for page, target in named if target not in make_targets()}


def test_the_make_target_check_sees_a_target_that_does_not_exist():
    named = re.findall(r"\bmake ([a-z][a-z-]*)", code("run `make no-such-target ARGS=1` then\n```\nmake repro\n```\n"))

    assert sorted(named) == ["no-such-target", "repro"]
    assert "no-such-target" not in make_targets()


def test_the_readme_is_a_front_page():
    text = README.read_text()

    assert len(text) <= 12_000
    assert "make repro" in text and "make test" in text and "make serve" in text
    assert any(diagram.startswith("flowchart") for diagram in DIAGRAMS)


def test_the_readmes_links_into_the_manual_name_its_pages():
    linked = set(re.findall(r"\]\(docs/([\w-]+\.md)(?:#[\w-]+)?\)", README.read_text()))

    assert linked == {path.name for path in PAGES}


def test_the_readmes_results_are_make_results():
    """The README's table is the one `make results` prints from the committed metrics/ and reports/."""
    printed = results_table(PROJECT / "metrics", PROJECT / "reports").splitlines()
    section = README.read_text().split("## Results", 1)[1]
    shown = re.search(r"^```\n(.*?)^```", section, re.M | re.S)

    assert shown is not None
    assert shown.group(1).splitlines()[: len(printed)] == printed


def test_every_endpoint_the_serving_page_names_is_a_route_of_the_app(tmp_path: Path):
    from serve.service import build_service

    service = build_service(
        Settings(prediction_db=str(tmp_path / "predictions.db"), pipeline_dir=tmp_path),
        f"sqlite:///{tmp_path}/mlflow.db",
    )
    service.predictions.close()

    def shape(path: str) -> str:
        """A route with its variables unnamed: /dashboard/<page> is /dashboard/<name>."""
        return re.sub(r"<[^>]*>", "<>", path)

    routes = {(method, shape(rule.rule)) for rule in service.app.url_map.iter_rules() for method in rule.methods or ()}
    table = (PROJECT / "docs" / "serving.md").read_text().split("| endpoint | what it does |", 1)[1].split("\n\n")[0]
    named = re.findall(r"`(GET|POST) (/[^`?]*)", table)

    assert len(named) > 20
    assert not [(method, path) for method, path in named if (method, shape(path)) not in routes]


@pytest.mark.slow
@needs_mermaid
def test_the_site_has_every_page_and_every_generated_part(site: Path):
    for page in PAGES:
        name = "" if page.stem == "index" else page.stem
        html = (site / name / "index.html").read_text()
        assert "<!-- generate:" not in html and "--8&lt;--" not in html, page.name
    assert (site / "assets" / "mermaid.min.js").read_bytes() == MERMAID.read_bytes()
    assert not (site / "node_modules").exists()


@pytest.mark.slow
@needs_mermaid
def test_the_configuration_page_lists_every_setting_and_param(site: Path):
    html = page_text(site, "configuration")

    for name, field in Settings.model_fields.items():
        nested = getattr(field.annotation, "model_fields", None)
        for variable in [f"SERVE_{name}__{inner}" for inner in nested] if nested else [f"SERVE_{name}"]:
            assert f"<code>{variable.upper()}</code>" in html
    for section, model in SECTIONS.items():
        for key in [f"{section}.{field}" for field in getattr(model, "model_fields", {})] or [section]:
            assert f"<code>{key}</code>" in html
    assert "<code>GUNICORN_WORKERS</code>" in html


@pytest.mark.slow
@needs_mermaid
def test_the_api_page_has_every_operation_of_the_apps_openapi(site: Path):
    from ops.api_reference import openapi_document

    html = page_text(site, "http-api")

    for path, item in openapi_document()["paths"].items():
        for method in item:
            assert f"{method.upper()} <code>{path}</code>" in html


@pytest.mark.slow
@needs_mermaid
def test_the_benchmarks_page_renders_every_result_file_with_its_provenance(site: Path):
    html = page_text(site, "benchmarks")

    for name in result_names():
        assert re.search(rf"<code>bench/results/{name}.json</code>: measured \d{{4}}-\d\d-\d\d on \w", html), name
        assert f'id="{name}"' in html


@pytest.mark.slow
@needs_mermaid
def test_a_default_changed_in_the_code_changes_the_configuration_page(tmp_path: Path):
    """A scratch copy of the checkout with SERVE_MAX_BATCH's default moved from 1000 to 1234."""
    project = tmp_path / "project"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT, capture_output=True, text=True, check=True)
    for name in filter(None, tracked.stdout.split("\0")):
        if (PROJECT / name).is_file():
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PROJECT / name, project / name)
    (project / "docs" / "node_modules").symlink_to(PROJECT / "docs" / "node_modules")
    settings = project / "serve" / "settings.py"
    old = "max_batch: int = Field(default=1000,"
    assert old in settings.read_text()
    settings.write_text(settings.read_text().replace(old, "max_batch: int = Field(default=1234,"))

    built = build(project, tmp_path / "site")

    assert built.returncode == 0, built.stderr[-4000:]
    row = re.search(
        r"<tr>\s*<td><code>SERVE_MAX_BATCH</code></td>.*?</tr>", page_text(tmp_path / "site", "configuration"), re.S
    )
    assert row is not None
    assert "<code>1234</code>" in row.group(0) and "1000" not in row.group(0)


@pytest.fixture
def site_server(site: Path) -> Iterator[str]:
    """The built site over HTTP on 127.0.0.1, as `make docs-serve` would serve it."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@pytest.mark.slow
@needs_chromium
@needs_mermaid
def test_the_sites_diagram_renders_with_no_request_leaving_the_site(browser, site_server: str):
    page = browser.new_page()
    outside: list[str] = []

    def only_the_site(route, request):
        if request.url.startswith(site_server):
            route.continue_()
        else:
            outside.append(request.url)
            route.abort()

    page.route("**/*", only_the_site)
    page.add_init_script(OPEN_SHADOWS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{site_server}/")
    page.wait_for_function("() => document.querySelector('div.mermaid')?.shadowRoot?.querySelector('svg')")
    svg = page.evaluate("() => document.querySelector('div.mermaid').shadowRoot.querySelector('svg').outerHTML")

    assert "ingest" in svg and "register" in svg
    assert not outside and not errors


@pytest.mark.slow
@needs_chromium
@needs_mermaid
@pytest.mark.parametrize("source", DIAGRAMS)
def test_each_readme_diagram_renders(browser, source: str):
    page = browser.new_page()
    page.add_script_tag(path=str(MERMAID))
    drawn = page.evaluate(RENDER, source)
    assert drawn.startswith("<svg"), drawn
