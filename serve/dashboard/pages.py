"""The dashboard's six pages, each drawn in the browser from the app's JSON endpoints (its own, in
serve.dashboard.endpoints, and the API's), so every figure on a page is one a client can get.

Charts are plotly.js, sent from the installed plotly package rather than a CDN: the dashboard works
on a machine with no internet, and its version is the lock's.
"""

from __future__ import annotations

from importlib.resources import files

from flask import Blueprint, Response, redirect, render_template, send_file, url_for
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response as WerkzeugResponse

from housing.schema import OCEAN_CLASSES

PAGES = {
    "live": "Live",
    "models": "Models",
    "history": "History",
    "drift": "Drift",
    "system": "System",
    "retrain": "Retrain",
}
"""Page name in the URL: its title in the navigation."""
PLOTLY_JS = files("plotly") / "package_data" / "plotly.min.js"
CACHE_SECONDS = 24 * 3600

blueprint = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


@blueprint.get("/")
def home() -> WerkzeugResponse:
    return redirect(url_for("dashboard.page", name="live"))


@blueprint.get("/<name>")
def page(name: str) -> str:
    if name not in PAGES:
        raise NotFound(f"no dashboard page {name!r}: the pages are {', '.join(PAGES)}")
    return render_template(f"{name}.html", pages=PAGES, current=name, ocean_classes=OCEAN_CLASSES)


@blueprint.get("/plotly.min.js")
def plotly_js() -> Response:
    return send_file(str(PLOTLY_JS), mimetype="text/javascript", max_age=CACHE_SECONDS)
