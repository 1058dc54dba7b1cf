"""The dashboard's six pages, each drawn in the browser from the app's JSON endpoints (its own, in
serve.dashboard.endpoints, and the API's), so every figure on a page is one a client can get.

Charts are plotly.js, sent from the installed plotly package rather than a CDN: the dashboard works
on a machine with no internet, and its version is the lock's.

plotly.min.js is 4.8 MB, all of which a first visit fetched (bench/dashboard_pages measures it).
It is sent gzipped (1.4 MB) to a client that accepts it, and every asset URL carries its version
(`?v=`: plotly's version, or a hash of the file's content), so a browser keeps it a year without
asking again (immutable) and still never runs an old copy after a deploy. The gzipped copy is made
once per worker, at the first request for the file, and kept in memory; the API's JSON answers are
never compressed, so the prediction path pays nothing. (flask-compress would gzip every response
per request, the predictions' included: a dependency for what a few lines do once.)
"""

from __future__ import annotations

import gzip
import hashlib
from functools import cache
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for
from werkzeug.exceptions import NotFound
from werkzeug.security import safe_join
from werkzeug.wrappers import Response as WerkzeugResponse

from housing.schema import OCEAN_CLASSES
from serve.parts import parts

PAGES = {
    "live": "Live",
    "models": "Models",
    "history": "History",
    "drift": "Drift",
    "system": "System",
    "retrain": "Retrain",
}
"""Page name in the URL: its title in the navigation."""
PLOTLY_JS = Path(str(files("plotly") / "package_data" / "plotly.min.js"))
PLOTLY_VERSION = version("plotly")
STATIC = Path(__file__).parent / "static"
YEAR_SECONDS = 365 * 24 * 3600
MIMETYPES = {".js": "text/javascript", ".css": "text/css"}

blueprint = Blueprint("dashboard", __name__, url_prefix="/dashboard", template_folder="templates")


@blueprint.get("/")
def home() -> WerkzeugResponse:
    return redirect(url_for("dashboard.page", name="live"))


@blueprint.get("/<name>")
def page(name: str) -> str:
    if name not in PAGES:
        raise NotFound(f"no dashboard page {name!r}: the pages are {', '.join(PAGES)}")
    champion = parts().champion
    return render_template(
        f"{name}.html",
        pages=PAGES,
        current=name,
        ocean_classes=OCEAN_CLASSES,
        model=champion.current,
    )


@blueprint.get("/plotly.min.js")
def plotly_js() -> WerkzeugResponse:
    return asset(PLOTLY_JS, PLOTLY_VERSION)


@blueprint.get("/static/<path:filename>")
def static(filename: str) -> WerkzeugResponse:
    found = safe_join(str(STATIC), filename)
    if found is None or not Path(found).is_file():
        raise NotFound(f"no dashboard file {filename!r}")
    return asset(Path(found), content_hash(Path(found)))


@blueprint.url_defaults
def versioned(endpoint: str, values: dict[str, Any]) -> None:
    """Every url_for of an asset carries its version, so a page never gets a cached old copy."""
    if endpoint == "dashboard.plotly_js":
        values.setdefault("v", PLOTLY_VERSION)
    elif endpoint == "dashboard.static" and "filename" in values:
        values.setdefault("v", content_hash(STATIC / values["filename"]))


def content_hash(path: Path) -> str:
    """The file's version in URLs: a hash of its content, so an edited file gets a new URL at once."""
    return hash_of(path, path.stat().st_mtime_ns)


@cache
def hash_of(path: Path, modified_ns: int) -> str:
    """The first 12 hex digits of the file's SHA-256, computed once per version of the file (its mtime)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


@cache
def gzipped(path: Path, modified_ns: int) -> bytes:
    """The file gzipped, made once per worker and version of the file (plotly.min.js: 1.4 MB of 4.8)."""
    return gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)


def asset(path: Path, current: str) -> WerkzeugResponse:
    """The file, gzipped when the client accepts it; cached for a year when asked for by its current
    version, revalidated each time otherwise (a URL with no version or an old one)."""
    compress = request.accept_encodings["gzip"] > 0
    body = gzipped(path, path.stat().st_mtime_ns) if compress else path.read_bytes()
    response = Response(body, mimetype=MIMETYPES.get(path.suffix, "text/plain"))
    if compress:
        response.content_encoding = "gzip"
    response.vary.add("Accept-Encoding")
    response.set_etag(f"{current}-gzip" if compress else current)
    if request.args.get("v") == current:
        response.cache_control.public = True
        response.cache_control.max_age = YEAR_SECONDS
        response.cache_control.immutable = True
    else:
        response.cache_control.no_cache = True
    return response.make_conditional(request)
