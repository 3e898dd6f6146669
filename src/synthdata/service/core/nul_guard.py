"""NUL characters in a request's path or query are refused at the edge with a 422.

PostgreSQL cannot store or even compare text holding NUL (`\\x00`): an id, cursor or
filter carrying one used to reach a query and fail there as a 500 (16 of 19 such
requests). The request-id middleware asks `nul_refusal` about every request before
the app sees it; JSON bodies are checked by `RequestModel` (service/core/inputs.py),
uploads by the multipart reader.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from fastapi.responses import JSONResponse
from starlette.routing import compile_path
from starlette.types import Scope

from synthdata.service.core.problems import validation_response

NUL_MESSAGE = "Input should not contain NUL characters (\\u0000)"


def holds_nul(value: Any) -> bool:
    """Whether `value` (text, or lists and dicts of it, keys included) holds a NUL."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(key) or holds_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(holds_nul(item) for item in value)
    return False


def nul_refusal(scope: Scope) -> JSONResponse | None:
    """The 422 for a request whose path or query holds a NUL, else None (the usual case)."""
    path: str = scope.get("path", "")
    query: bytes = scope.get("query_string", b"")
    if "\x00" not in path and b"%00" not in query and b"\x00" not in query:
        return None
    if "\x00" in path:
        loc = ["path", _path_parameter(scope, path)]
    else:
        loc = ["query", _query_parameter(query)]
    return validation_response([{"loc": loc, "msg": NUL_MESSAGE, "type": "nul_character"}])


def _printable(name: str) -> str:
    return name.replace("\x00", "\\u0000")


def _query_parameter(query: bytes) -> str:
    # Parsed as Starlette parses it, so the name is the one the endpoint declares.
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return _printable(name)
    return "?"  # a NUL the parser drops on its own: still refused


def _path_parameter(scope: Scope, path: str) -> str:
    """The name of the path parameter holding the NUL (`path` when no route matches)."""
    for pattern in _route_patterns(scope.get("app")):
        match = pattern.match(path)
        if match is not None:
            for name, value in match.groupdict().items():
                if "\x00" in value:
                    return name
    return "path"


def _route_patterns(app: Any) -> list[re.Pattern[str]]:
    """The app's route templates with parameters (from its OpenAPI document), compiled once."""
    state = getattr(app, "state", None)
    if state is None or not hasattr(app, "openapi"):
        return []
    patterns: list[re.Pattern[str]] | None = getattr(state, "nul_guard_patterns", None)
    if patterns is None:
        templates = [t for t in app.openapi().get("paths", {}) if "{" in t]
        patterns = [compile_path(t)[0] for t in templates]
        state.nul_guard_patterns = patterns
    return patterns
