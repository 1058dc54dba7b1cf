"""The admin endpoints, behind `Authorization: Bearer $SERVE_ADMIN_TOKEN` (disabled while the token is
unset): check the registry's aliases now in every worker (/admin/reload), and start, follow or cancel
the retrain command (/admin/retrain, /admin/retrain/cancel); with the schemas of their requests and
answers."""

from __future__ import annotations

import hmac
from typing import Annotated, Any, Literal

from flask import Blueprint, Response, request
from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints

from serve.api_schemas import ModelRef, Readiness
from serve.errors import ErrorDetail, ErrorResponse, RequestError, answer, json_body, validate_model
from serve.openapi import PathItem, Room, errors, json_content, ref
from serve.parts import parts
from serve.retrain import RetrainUsage

Preset = Literal["default", "quick", "gpu"]
"""The retrain command's presets, ops.presets.RETRAIN_PRESETS (the server imports no ops; a test holds
the two equal)."""
ParamName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$", max_length=200)]


class ReloadResult(BaseModel):
    reloaded: bool = Field(description="True when this worker swapped in a new champion.")
    model: ModelRef | None = None
    problem: str | None = None
    challenger: ModelRef | None = Field(default=None, description="The challenger this worker has loaded, if any.")


class RetrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    dry_run: bool = Field(default=False, description="Decide and record, but do not retrain.")
    force: bool = Field(default=False, description="Retrain whatever the evidence says.")
    preset: Preset = Field(
        default="default",
        description="Params to retrain with (ops/presets.py): default is params.yaml as it stands, quick trains"
        " lighter models, gpu deeper ones on CUDA.",
    )
    params: dict[ParamName, JsonValue] = Field(
        default_factory=dict,
        max_length=50,
        description="Param overrides over the preset by dotted name, as `dvc exp run -S` takes them, e.g."
        ' {"train.mlp.epochs": 50}. The command checks them against params.yaml with the pipeline\'s params'
        " models before anything runs (a 422 names each it refuses); with a preset or overrides the retrain"
        " is a DVC experiment, and params.yaml keeps them afterwards, as after `dvc exp run`.",
    )


class RetrainStatus(BaseModel):
    running: bool = Field(description="A retrain command holds the lock now.")
    last: dict[str, Any] | None = Field(
        description="The retrain command's latest record: state (running, finished, failed, cancelled), preset,"
        " overrides, evidence, reasons, retrain, the stage DVC runs now (current_stage) and the stages it ran"
        " and skipped, outcome, error, or the stage a cancel interrupted."
    )
    usage: RetrainUsage | None = Field(
        default=None, description="CPU and memory of the retrain's processes, while one runs."
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
    readiness = Readiness.of(served.champion)
    contender = served.challenger.current if served.challenger is not None else None
    result = ReloadResult(
        reloaded=reloaded,
        model=readiness.model,
        problem=readiness.problem,
        challenger=ModelRef.of(contender) if contender else None,
    )
    return answer(result)


@blueprint.post("/admin/retrain")
def retrain() -> Response:
    retrainer = parts().retrainer
    options: RetrainRequest = validate_model(RetrainRequest, json_body() if request.content_length else {})
    retrainer.start(options.dry_run, options.force, options.preset, options.params)
    return answer(retrain_state(), 202)


@blueprint.get("/admin/retrain")
def retrain_status() -> Response:
    return answer(retrain_state())


@blueprint.post("/admin/retrain/cancel")
def cancel_retrain() -> Response:
    parts().retrainer.cancel()
    return answer(retrain_state(), 202)


def retrain_state() -> RetrainStatus:
    retrainer = parts().retrainer
    return RetrainStatus(running=retrainer.running(), last=retrainer.last(), usage=retrainer.usage())


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
    "/admin/retrain/cancel": {
        "post": {
            "summary": "Cancel the running retrain: its DVC run stops, its lock is released, nothing is registered",
            "security": BEARER,
            "responses": {
                "202": json_content(RetrainStatus, "Cancelling: the record says cancelled once DVC has stopped"),
                **errors("401", "403"),
                "409": json_content(ErrorResponse, "No retrain is running, or it is registering: too late to cancel"),
            },
        }
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
