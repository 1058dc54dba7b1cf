"""The admin endpoints, behind `Authorization: Bearer $SERVE_ADMIN_TOKEN` (disabled while the token is
unset): check the registry's aliases now in every worker (/admin/reload), and start or follow the
retrain command (/admin/retrain); with the schemas of their requests and answers."""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, Response, request
from pydantic import BaseModel, ConfigDict, Field

from serve.api_schemas import ModelRef
from serve.errors import ErrorDetail, RequestError, answer, json_body, validate_model
from serve.openapi import PathItem, Room, errors, json_content, ref
from serve.parts import parts


class ReloadResult(BaseModel):
    reloaded: bool = Field(description="True when this worker swapped in a new champion.")
    model: ModelRef | None = None
    problem: str | None = None
    challenger: ModelRef | None = Field(default=None, description="The challenger this worker has loaded, if any.")


class RetrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    dry_run: bool = Field(default=False, description="Decide and record, but do not retrain.")
    force: bool = Field(default=False, description="Retrain whatever the evidence says.")


class RetrainStatus(BaseModel):
    running: bool = Field(description="A retrain command holds the lock now.")
    last: dict[str, Any] | None = Field(
        description="The retrain command's latest record: state, evidence, reasons, retrain, the stages DVC ran"
        " and skipped, outcome or error."
    )


blueprint = Blueprint("admin", __name__)


@blueprint.before_request
def require_admin() -> None:
    token = parts().settings.admin_token
    if not token:
        detail = ErrorDetail(field="SERVE_ADMIN_TOKEN", message="not set on the server")
        raise RequestError(403, "admin endpoints are disabled", [detail])
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise RequestError(401, "unauthorized", [ErrorDetail(field="Authorization", message="expected Bearer <token>")])


@blueprint.post("/admin/reload")
def reload() -> Response:
    served = parts()
    reloaded = served.champion.refresh()
    if served.challenger is not None:
        served.challenger.refresh()
    served.champion.request_reload()
    model = served.champion.current
    contender = served.challenger.current if served.challenger is not None else None
    result = ReloadResult(
        reloaded=reloaded,
        model=ModelRef.of(model) if model else None,
        problem=None if model else served.champion.problem,
        challenger=ModelRef.of(contender) if contender else None,
    )
    return answer(result)


@blueprint.post("/admin/retrain")
def retrain() -> Response:
    retrainer = parts().retrainer
    options: RetrainRequest = validate_model(RetrainRequest, json_body() if request.content_length else {})
    retrainer.start(options.dry_run, options.force)
    return answer(RetrainStatus(running=retrainer.running(), last=retrainer.last()), 202)


@blueprint.get("/admin/retrain")
def retrain_status() -> Response:
    retrainer = parts().retrainer
    return answer(RetrainStatus(running=retrainer.running(), last=retrainer.last()))


BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
PATHS: dict[str, PathItem] = {
    "/admin/retrain": {
        "post": {
            "summary": "Start the retrain command (ops.retrain) in the background",
            "security": BEARER,
            "requestBody": {"required": False, "content": {"application/json": {"schema": ref(RetrainRequest)}}},
            "responses": {
                "202": json_content(RetrainStatus, "Started"),
                **errors("400", "401", "403", "409", "415", "422", "500"),
            },
        },
        "get": {
            "summary": "Whether a retrain is running, and the retrain command's latest record",
            "security": BEARER,
            "responses": {"200": json_content(RetrainStatus, "OK"), **errors("401", "403")},
        },
    },
    "/admin/reload": {
        "post": {
            "summary": "Check the registry alias now and load a new version",
            "security": BEARER,
            "responses": {"200": json_content(ReloadResult, "Checked"), **errors("401", "403")},
        }
    },
}

ROOM = Room(blueprints=(blueprint,), paths=PATHS, schemas=(ReloadResult, RetrainRequest, RetrainStatus))
