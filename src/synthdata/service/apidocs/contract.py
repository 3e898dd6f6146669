"""The OpenAPI document, made to say exactly what the service accepts.

FastAPI derives the document from the request models; three facts are not in them:

- a limit that is a setting (`rows` up to `SYNTHDATA_MAX_JOB_ROWS`), known only when
  the app is built;
- a query, path or header parameter has no `null`: it is given or left out. FastAPI
  writes an optional parameter as `anyOf: [{type: string}, {type: null}]`, and a
  client (or a fuzzer) that sends "null" for it is told something the service never
  does;
- no text in a request may hold NUL (`\\u0000`): PostgreSQL cannot store it, so the
  service refuses it in every path, query, body and form field (core/nul_guard.py).
  Every request string without a format, enum or pattern of its own gets the pattern
  `^[^\\x00]*$`, and every request map gets it for its keys.

`install_contract` wraps `app.openapi` to add them, once, when the document is first
asked for.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from synthdata.service.core.settings import Settings


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    options = schema.get("anyOf")
    if not isinstance(options, list):
        return schema
    kept = [option for option in options if option != {"type": "null"}]
    if len(kept) == len(options):
        return schema
    rest = {key: value for key, value in schema.items() if key != "anyOf"}
    if len(kept) == 1:
        return {**kept[0], **rest}
    return {**rest, "anyOf": kept}


NUL_FREE = "^[^\\x00]*$"
_REF = "#/components/schemas/"


def _no_nul(schema: Any, schemas: dict[str, Any], seen: set[str]) -> None:
    """Forbid NUL in every string and map key of `schema`, following `$ref`s once."""
    if isinstance(schema, list):
        for item in schema:
            _no_nul(item, schemas, seen)
        return
    if not isinstance(schema, dict):
        return
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(_REF) and ref not in seen:
        seen.add(ref)
        _no_nul(schemas.get(ref.removeprefix(_REF)), schemas, seen)
    if schema.get("type") == "string" and not {"format", "enum", "const", "pattern"} & set(schema):
        schema["pattern"] = NUL_FREE
    if schema.get("type") == "object" and isinstance(schema.get("additionalProperties"), dict):
        schema.setdefault("propertyNames", {"pattern": NUL_FREE})  # a map: its keys are text
    for key in ("properties", "$defs"):
        for child in (schema.get(key) or {}).values():
            _no_nul(child, schemas, seen)
    for key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf"):
        _no_nul(schema.get(key), schemas, seen)


def refine(document: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """`document` with the settings' limits, NUL-free request text, no `null` parameters."""
    schemas = document.get("components", {}).get("schemas", {})
    seen: set[str] = set()
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                if "schema" in parameter:
                    parameter["schema"] = _without_null(parameter["schema"])
                    _no_nul(parameter["schema"], schemas, seen)
            for media in operation.get("requestBody", {}).get("content", {}).values():
                _no_nul(media.get("schema"), schemas, seen)
    rows = schemas.get("JobCreate", {}).get("properties", {}).get("rows")
    if rows is not None:
        # Optional (a dataset of linked tables takes scale instead): the bound goes on
        # the integer branch of `anyOf`.
        for option in rows.get("anyOf", [rows]):
            if option.get("type") == "integer":
                option["maximum"] = settings.max_job_rows
    return document


def install_contract(app: FastAPI, settings: Settings) -> None:
    """Serve the refined document at the app's `openapi_url`."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = refine(build(), settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
