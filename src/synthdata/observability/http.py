"""HTTP observability: request metrics, the access log and the `/metrics` endpoint.

One pure-ASGI middleware times every request, counts it under its route template
(`/api/v1/jobs/{job_id}`, never the raw path; unknown paths are `unmatched`) and
writes one access-log line with `response_time` in milliseconds, the field the
runbook's slow-request query reads.
"""

from __future__ import annotations

import os
import time
from typing import Any

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from synthdata.observability import metrics
from synthdata.observability.heavy_hitters import HeavyHitters
from synthdata.observability.logging import access_line

UNMATCHED = "unmatched"


class ObservabilityMiddleware:
    """Metrics and one access-log line per HTTP request."""

    def __init__(self, app: ASGIApp, talkers: HeavyHitters | None = None) -> None:
        self.app = app
        self.talkers = talkers or HeavyHitters()
        # The labelled children of the request metrics, per (method, route, status):
        # `labels()` validates and locks on every call, which showed in profiles. The
        # keys are bounded (route templates, not paths), so this stays small.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            self._record(scope, status, time.perf_counter() - start)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        endpoint = route_template(scope)
        method = scope.get("method", "GET")
        children = self._children.get((method, endpoint, status))
        if children is None:
            children = (
                metrics.http_requests_total.labels(method, endpoint, str(status)),
                metrics.http_request_duration_seconds.labels(method, endpoint),
            )
            self._children[(method, endpoint, status)] = children
        requests, duration = children
        requests.inc()
        duration.observe(seconds)
        client = scope.get("client")
        source = client[0] if client else "unknown"
        metrics.source_requests_total.labels(self.talkers.observe(source)).inc()
        state: dict[str, Any] = scope.get("state") or {}
        customer_id = state.get("customer_id")
        if customer_id:
            metrics.api_requests_total.labels(customer_id).inc()
        if endpoint == "/metrics":
            return  # scrapes would drown the access log
        level = "error" if status >= 500 else "warning" if status >= 400 else "info"
        access_line(
            level,
            {
                "request_id": state.get("request_id"),
                "http.request.method": method,
                "url.path": scope.get("path", ""),
                "http.route": endpoint,
                "http.response.status_code": status,
                "response_time": round(seconds * 1000, 3),
                "customer_id": customer_id,
                "source.ip": source,
            },
        )


def route_template(scope: Scope) -> str:
    """The matched route's template with its router prefix, or `unmatched`.

    A route inside an included router knows only its own path ("/jobs/{job_id}");
    the prefix ("/api/v1") is the static part of the request path in front of it.
    """
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not template:
        return _plain_route(scope) or UNMATCHED
    path = scope.get("path", "")
    regex = getattr(route, "path_regex", None)
    if regex is None or regex.match(path):
        return str(template)
    for index, char in enumerate(path):
        if char == "/" and index and regex.match(path[index:]):
            return path[:index] + str(template)
    return str(template)


def _plain_route(scope: Scope) -> str | None:
    """The template of a plain Starlette route (the OpenAPI document, the docs page).

    FastAPI's router records only its own routes in `scope["route"]`; the few plain
    routes at the top of the app are matched again here, so they are not `unmatched`.
    """
    router = getattr(scope.get("app"), "router", None)
    for route in getattr(router, "routes", ()):
        if isinstance(route, Route) and route.matches(scope)[0] is Match.FULL:
            return route.path
    return None


def metrics_payload() -> bytes:
    """The exposition text: every process's series when running multi-process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(metrics.scrape_time)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def install_observability(app: FastAPI) -> None:
    """Middleware hook: request metrics and access log, plus `GET /metrics`."""

    async def metrics_endpoint() -> Response:
        return Response(metrics_payload(), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route("/metrics", metrics_endpoint, include_in_schema=False)
    app.add_middleware(ObservabilityMiddleware)
