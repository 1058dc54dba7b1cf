"""The HTTP API page, made from the app's own /openapi.json: the real service (serve.service) is built
on a scratch MLflow store and prediction log and asked through Flask's test client, so the page shows
what a client of this checkout is told, operation by operation and schema by schema.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ops.markdown_text import literal, schema_type, table
from serve.service import build_service
from serve.settings import Settings

METHODS = ("get", "post", "put", "patch", "delete")


def openapi_document() -> dict[str, Any]:
    """GET /openapi.json from the app, built as serve.wsgi builds it (no model is loaded for this)."""
    with tempfile.TemporaryDirectory(prefix="housing-docs-") as scratch:
        settings = Settings(prediction_db=str(Path(scratch) / "predictions.db"), pipeline_dir=Path(scratch))
        service = build_service(settings, f"sqlite:///{scratch}/mlflow.db")
        try:
            response = service.app.test_client().get("/openapi.json")
        finally:
            service.predictions.close()
    if response.status_code != 200:
        raise RuntimeError(f"GET /openapi.json answered {response.status_code}")
    document: dict[str, Any] = response.get_json()
    return document


def api_page(document: dict[str, Any]) -> str:
    """The operations in the document's order, then every schema they name."""
    parts = [f"OpenAPI {document['openapi']}, *{document['info']['title']}* {document['info']['version']}."]
    parts.append("## Operations")
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                parts.append(operation(method, path, item[method]))
    parts.append("## Schemas")
    for name, schema in document["components"]["schemas"].items():
        parts.append(schema_section(name, schema))
    return "\n\n".join(parts)


def anchor(method: str, path: str) -> str:
    return "-".join([method, *(part for part in path.strip("/").replace("/", "-").split("-") if part)])


def operation(method: str, path: str, spec: dict[str, Any]) -> str:
    lines = [f"### {method.upper()} `{path}` {{#{anchor(method, path)}}}", "", spec.get("summary", "")]
    if spec.get("security"):
        lines += ["", "Needs `Authorization: Bearer $SERVE_ADMIN_TOKEN`."]
    if spec.get("parameters"):
        rows = [
            (
                f"`{parameter['name']}`",
                parameter["in"],
                schema_type(parameter["schema"], link=True),
                literal(parameter["schema"].get("default")) if "default" in parameter["schema"] else "",
                parameter["schema"].get("description", ""),
            )
            for parameter in spec["parameters"]
        ]
        lines += ["", table(["parameter", "in", "type", "default", "description"], rows)]
    if "requestBody" in spec:
        body = spec["requestBody"]
        kinds = ", ".join(
            f"`{kind}`: {schema_type(media['schema'], link=True)}" for kind, media in body["content"].items()
        )
        lines += ["", f"Request body ({'required' if body.get('required') else 'optional'}): {kinds}."]
    answers = [
        (status, answer["description"], ", ".join(_contents(answer.get("content", {}))))
        for status, answer in spec["responses"].items()
    ]
    lines += ["", table(["status", "meaning", "body"], answers)]
    return "\n".join(lines)


def _contents(content: dict[str, Any]) -> list[str]:
    return [f"`{kind}`: {schema_type(media['schema'], link=True)}" for kind, media in content.items()]


def schema_section(name: str, schema: dict[str, Any]) -> str:
    lines = [f"### {name} {{#{name.lower()}}}"]
    if schema.get("description"):
        lines += ["", " ".join(schema["description"].split())]
    properties = schema.get("properties", {})
    if properties:
        required = set(schema.get("required", []))
        rows = [
            (
                f"`{field}`",
                schema_type(spec, link=True),
                "yes" if field in required else literal(spec.get("default")) if "default" in spec else "no",
                spec.get("description", ""),
            )
            for field, spec in properties.items()
        ]
        lines += ["", table(["field", "type", "required (or default)", "description"], rows)]
    elif "enum" in schema or "type" in schema or "anyOf" in schema:
        lines += ["", f"Type: {schema_type(schema, link=True)}."]
    return "\n".join(lines)
