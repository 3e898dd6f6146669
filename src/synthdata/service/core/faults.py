"""A test-only fault switch: make a request fail with a chosen 5xx on demand.

With `SYNTHDATA_FAULT_INJECTION=true` (refused at start-up when
`SYNTHDATA_ENVIRONMENT=production`), a request carrying `X-Synthdata-Fault: 500`
(or 502, 503, 504) is answered with that status as a problem document, without
reaching the endpoint. End-to-end tests use it to produce an exact number of
server errors and check that metrics and alerts count them. `X-Synthdata-Fault:
exception` raises an exception instead, which the app's error path answers (500,
logged with its traceback) exactly as it answers a bug.

The middleware sits inside the observability middleware, so an injected fault is
counted like a real one: under its status and under the route template the path
matches (found from the OpenAPI paths and the app's top-level routes; `unmatched`
when none does). With the switch off the middleware is not installed at all and
the header means nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from synthdata.service.core.problems import problem_response

HEADER = "x-synthdata-fault"
STATUSES = frozenset({500, 502, 503, 504})
EXCEPTION = "exception"


class InjectedException(RuntimeError):
    """Raised for `X-Synthdata-Fault: exception`, as a bug in an endpoint would raise."""


@dataclass(frozen=True)
class InjectedRoute:
    """Stands in for the matched route in the ASGI scope (`path` is the template)."""

    path: str


class FaultInjectionMiddleware:
    """Answer requests that ask for a fault with that fault; pass every other request on."""

    def __init__(self, app: ASGIApp, owner: FastAPI) -> None:
        self.app = app
        self.owner = owner
        self._templates: list[tuple[re.Pattern[str], str]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = _header(scope)
        if wanted is None:
            await self.app(scope, receive, send)
            return
        if wanted == EXCEPTION:
            self._mark_route(scope)
            raise InjectedException(f"exception injected on request ({HEADER}: {EXCEPTION})")
        if not wanted.isdigit() or int(wanted) not in STATUSES:
            allowed = ", ".join([*(str(s) for s in sorted(STATUSES)), EXCEPTION])
            response = problem_response(
                400, f"{HEADER}: expected one of {allowed}", kind="bad-fault"
            )
        else:
            status = int(wanted)
            self._mark_route(scope)
            response = problem_response(
                status, f"fault injected on request ({HEADER}: {status})", kind="injected-fault"
            )
        await response(scope, receive, send)

    def _mark_route(self, scope: Scope) -> None:
        template = self._template(scope.get("path", ""))
        if template is not None:
            scope["route"] = InjectedRoute(template)

    def _template(self, path: str) -> str | None:
        if self._templates is None:
            self._templates = _route_templates(self.owner)
        for pattern, template in self._templates:
            if pattern.match(path):
                return template
        return None


def _header(scope: Scope) -> str | None:
    for name, value in scope.get("headers") or []:
        if name == HEADER.encode():
            return str(value.decode("latin-1").strip())
    return None


def _route_templates(app: FastAPI) -> list[tuple[re.Pattern[str], str]]:
    """Every route template the app serves, most specific (fewest parameters) first."""
    templates: set[str] = set()
    schema: dict[str, Any] = app.openapi()
    templates.update(schema.get("paths", {}))
    for route in app.router.routes:
        path = getattr(route, "path", None)
        if isinstance(path, str):
            templates.add(path)
    ordered = sorted(templates, key=lambda t: (t.count("{"), -len(t), t))
    return [(compile_path(t)[0], t) for t in ordered]


def install(app: FastAPI) -> None:
    """App-factory hook; add it before the observability hook so it runs inside it."""
    app.add_middleware(FaultInjectionMiddleware, owner=app)
