"""/openapi.json: an OpenAPI 3.1 document assembled from the server's rooms.

A room (`Room`) is a part of the server as create_app registers it: its blueprints, the paths it
documents, with their schemas, which pydantic generates, and the rules it deliberately leaves out of
the document, each with the reason. A test holds every rule of the app's URL map to one or the other,
so a new route cannot go missing from /openapi.json unnoticed. The helpers below write the common
kinds of operation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from serve.errors import ErrorResponse

PathItem = dict[str, Any]
"""An OpenAPI path item: HTTP method (lower case) to its operation."""


@dataclass(frozen=True)
class Room:
    """A part of the server: its blueprints, and what /openapi.json says about each of their rules."""

    blueprints: tuple[Blueprint, ...]
    paths: dict[str, PathItem]
    schemas: tuple[type[BaseModel], ...]
    """The models the paths refer to; pydantic adds the models they nest."""
    undocumented: dict[str, str] = field(default_factory=dict)
    """Rules the document leaves out (as the URL map spells them): why each is not JSON described here."""


ERRORS = {
    "400": "Malformed JSON",
    "404": "Unknown prediction",
    "413": "Body or batch too large",
    "409": "A retrain is already running, or there is no pipeline to run",
    "415": "Not JSON",
    "422": "Invalid input",
}


def ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def json_content(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref(model)}}}


def errors(*codes: str) -> dict[str, Any]:
    return {code: json_content(ErrorResponse, ERRORS.get(code, "Error")) for code in codes}


def json_post(
    summary: str,
    request: type[BaseModel],
    response: type[BaseModel],
    refusals: tuple[str, ...] = ("400", "413", "415", "422", "503"),
) -> PathItem:
    return {
        "post": {
            "summary": summary,
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref(request)}}},
            "responses": {"200": json_content(response, "OK"), **errors(*refusals)},
        }
    }


def json_get(summary: str, response: type[BaseModel], *refusals: str, parameters: list | None = None) -> PathItem:
    operation = {"summary": summary, "responses": {"200": json_content(response, "OK"), **errors(*refusals)}}
    if parameters:
        operation["parameters"] = parameters
    return {"get": operation}


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """A query model's fields as optional query parameters (an optional field's schema without its null)."""
    parameters = []
    for name, schema in model.model_json_schema()["properties"].items():
        alternatives = [option for option in schema.get("anyOf", [schema]) if option.get("type") != "null"]
        described = {
            key: value for key, value in schema.items() if key in ("default", "description") and value is not None
        }
        parameters.append({"name": name, "in": "query", "required": False, "schema": {**alternatives[0], **described}})
    return parameters


def openapi_document(title: str, version: str, rooms: Iterable[Room]) -> dict[str, Any]:
    """The document of every path the rooms document, with the schemas of all of them."""
    rooms = list(rooms)
    models: dict[type[BaseModel], None] = dict.fromkeys([ErrorResponse, *(m for room in rooms for m in room.schemas)])
    _, definitions = models_json_schema(
        [(model, "validation") for model in models], ref_template="#/components/schemas/{model}"
    )
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": {path: item for room in rooms for path, item in room.paths.items()},
        "components": {
            "schemas": definitions["$defs"],
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
