"""`/`: the form to try a prediction, with the latest predictions under it; like the dashboard's
pages, it calls the API from the browser (POST /predict, GET /predictions)."""

from __future__ import annotations

from flask import Blueprint, render_template

from housing.schema import HousingRow
from serve.parts import parts

blueprint = Blueprint("try_it", __name__, template_folder="templates")


@blueprint.get("/")
def index() -> str:
    fields = HousingRow.model_json_schema()["properties"]
    return render_template("predict.html", fields=fields, model=parts().champion.current)
