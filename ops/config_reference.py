"""The configuration page's tables, made from the code that reads each setting, so the manual cannot
drift from it: the server's `SERVE_*` variables from serve.settings.Settings, gunicorn's `GUNICORN_*`
from serve/gunicorn.conf.py, and every params.yaml key from stages.params' models, with the value
params.yaml ships as its default.

A params model without a description for a field falls back to the comment beside the key in
params.yaml: the two places a param is explained, read in that order.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, TypeAdapter

from ops.markdown_text import literal, schema_type, table
from serve.settings import Settings
from stages.params import SECTIONS

PROJECT = Path(__file__).resolve().parents[1]
GUNICORN_CONF = PROJECT / "serve" / "gunicorn.conf.py"
PARAMS_FILE = PROJECT / "params.yaml"
GUNICORN_SETTINGS = "https://docs.gunicorn.org/en/stable/settings.html#"
KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_]\w*):(?P<value>[^#]*)(?:#\s?(?P<comment>.*))?$")


def settings_table() -> str:
    """Every variable Settings reads: name, type, default and description, nested models flattened
    with pydantic-settings' own prefix and delimiter (SERVE_DRIFT__PSI_THRESHOLD)."""
    schema = Settings.model_json_schema()
    definitions = schema.get("$defs", {})
    prefix = Settings.model_config.get("env_prefix", "")
    delimiter = Settings.model_config.get("env_nested_delimiter") or "__"
    rows = []
    for name, field in schema["properties"].items():
        nested = definitions.get(field.get("$ref", "").rsplit("/", 1)[-1])
        if nested is None:
            rows.append(_setting_row(f"{prefix}{name}".upper(), field))
            continue
        for inner, inner_field in nested["properties"].items():
            rows.append(_setting_row(f"{prefix}{name}{delimiter}{inner}".upper(), inner_field))
    return table(["variable", "type", "default", "description"], rows)


def _setting_row(variable: str, field: dict[str, Any]) -> tuple[str, str, str, str]:
    default = field.get("default")
    if isinstance(default, str) and default.startswith(str(PROJECT)):
        default = "<repo>" + default[len(str(PROJECT)) :]  # the checkout the server runs from
    return f"`{variable}`", schema_type(field), literal(default), field.get("description", "")


def gunicorn_table(conf: Path = GUNICORN_CONF) -> str:
    """The `GUNICORN_*` variables serve/gunicorn.conf.py reads: each one's default as the file gives it,
    the gunicorn setting it sets, and the comment above that line where there is one."""
    source = conf.read_text()
    lines = source.splitlines()
    rows = []
    for node in ast.parse(source).body:
        if not isinstance(node, ast.Assign) or not isinstance(node.targets[0], ast.Name):
            continue
        for call in ast.walk(node.value):
            arguments = _environ_get(call)
            if arguments and arguments[0].startswith("GUNICORN_"):
                setting = node.targets[0].id
                link = f"gunicorn's [`{setting}`]({GUNICORN_SETTINGS}{setting.replace('_', '-')})"
                note = " ".join(_comment_above(lines, node.lineno))
                rows.append((f"`{arguments[0]}`", literal(arguments[1]), f"{link}. {note}".strip()))
    return table(["variable", "default", "description"], rows)


def _environ_get(node: ast.AST) -> tuple[str, str] | None:
    """("NAME", "default") of a call `os.environ.get("NAME", "default")`, else None."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"):
        return None
    if ast.unparse(node.func.value) != "os.environ" or len(node.args) != 2:
        return None
    name, default = node.args
    if isinstance(name, ast.Constant) and isinstance(default, ast.Constant):
        return str(name.value), str(default.value)
    return None


def _comment_above(lines: list[str], lineno: int) -> list[str]:
    comments: list[str] = []
    index = lineno - 2
    while index >= 0 and lines[index].lstrip().startswith("#"):
        comments.insert(0, lines[index].lstrip("# ").strip())
        index -= 1
    return comments


def params_tables(params_file: Path = PARAMS_FILE) -> str:
    """One table per params.yaml section (the top-level scalars together), in stages.params' order:
    key, type, the shipped value, description."""
    shipped = yaml.safe_load(params_file.read_text())
    comments = params_comments(params_file.read_text())
    scalars, sections = [], []
    for section, model in SECTIONS.items():
        value = _lookup(shipped, section)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            description = comments.get(section, "")
            scalars.append((f"`{section}`", schema_type(TypeAdapter(model).json_schema()), literal(value), description))
            continue
        schema = model.model_json_schema()
        rows = [
            (
                f"`{section}.{name}`",
                schema_type(field),
                literal(value.get(name)),
                field.get("description") or comments.get(f"{section}.{name}", ""),
            )
            for name, field in schema["properties"].items()
        ]
        about = schema.get("description") or comments.get(section, "")
        heading = f"### `{section}`\n\n" + (f"{' '.join(about.split())}\n\n" if about else "")
        sections.append(heading + table(["key", "type", "default", "description"], rows))
    header = ["key", "type", "default", "description"]
    return "\n\n".join([f"### Top level\n\n{table(header, scalars)}", *sections])


def _lookup(params: dict[str, Any], dotted: str) -> Any:
    value: Any = params
    for key in dotted.split("."):
        value = value[key]
    return value


def params_comments(text: str) -> dict[str, str]:
    """The comment beside each key of a YAML mapping, by dotted key (`train.xgboost.seeds`)."""
    comments: dict[str, str] = {}
    parents: list[tuple[int, str]] = []
    for line in text.splitlines():
        match = KEY_LINE.match(line)
        if not match:
            continue
        indent = len(match["indent"])
        while parents and parents[-1][0] >= indent:
            parents.pop()
        key = ".".join([*(name for _, name in parents), match["key"]])
        if match["comment"]:
            comments[key] = match["comment"].strip()
        if not match["value"].strip():
            parents.append((indent, match["key"]))
    return comments
