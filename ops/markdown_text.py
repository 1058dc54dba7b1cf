"""Markdown for the manual's generated pages: tables, and JSON-schema types in words.

The configuration and HTTP API pages are made from pydantic's JSON schemas (the settings, the params
models, /openapi.json), so a type, a bound or an allowed value is written the same way on both.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

PYTHON_TYPES = {"integer": "int", "number": "float", "string": "str", "boolean": "bool", "null": "null"}
BOUNDS = {"exclusiveMinimum": ">", "minimum": "≥", "exclusiveMaximum": "<", "maximum": "≤"}


def prose(text: str) -> str:
    """Text from a docstring or a description, as Markdown: outside `code` a `<name>` would be an HTML
    tag and a `*` the start of emphasis."""
    parts = text.split("`")
    for index in range(0, len(parts), 2):
        parts[index] = parts[index].replace("<", "&lt;").replace("*", "\\*")
    return "`".join(parts)


def cell(value: object) -> str:
    """One table cell: a row break or a `|` inside it would end the row."""
    return prose(str(value).replace("\n", " ")).replace("|", "\\|")


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def literal(value: Any) -> str:
    """A value as it is written in params.yaml or an environment variable, in code style."""
    if value is None:
        return "`null`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f"`{value}`" if value else "(empty)"
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def schema_type(schema: dict[str, Any], link: bool = False) -> str:
    """A JSON-schema fragment in words: `int > 0`, `list of float`, `` `drop` | `fail` ``.

    With `link`, a reference to a named schema is a link to its heading on the same page.
    """
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})" if link else name
    for alternatives in ("anyOf", "oneOf"):
        if alternatives in schema:
            return " or ".join(schema_type(option, link) for option in schema[alternatives])
    if "enum" in schema:
        return " | ".join(literal(value) for value in schema["enum"])
    if "const" in schema:
        return literal(schema["const"])
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        return " or ".join(PYTHON_TYPES.get(name, name) for name in map(str, kind))
    if kind == "array":
        words = f"list of {schema_type(schema.get('items', {}), link)}"
        if "minItems" in schema:
            words += f" (at least {schema['minItems']})"
        return words
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"map of {schema_type(schema['additionalProperties'], link)}"
    words = "path" if schema.get("format") == "path" else PYTHON_TYPES.get(kind, kind)
    bounds = [f"{sign} {schema[key]}" for key, sign in BOUNDS.items() if key in schema]
    if "minLength" in schema:
        bounds.append(f"of at least {schema['minLength']} characters")
    return " ".join([words, " and ".join(bounds)]).strip()
